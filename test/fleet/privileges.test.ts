/**
 * What the agent's polkit rule lets the smgr-agent user do, on Debian 12
 * (systemd 252) and Debian 13 (systemd 257, where StartTransientUnit reaches
 * polkit rules with the same unit/verb details as a start of an installed
 * unit: `systemd-run --unit=LISTED.service` must not become a root unit).
 * The rule is written by the smgr_agent role's own tasks; each host is booted
 * with nspawn in its own network namespace. Runs with SMGR_FLEET=1.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { bootNspawnHost, createNetLab, ensureRootfs, makeTempDir, useCleanup, type NspawnHost, type RootfsSuite } from '@smgr/testing';
import { outputTail, runPlaybook, writeInventory } from './support/playbook.js';

const LONG = { timeout: 15 * 60_000 };
/** Has a unit file, listed: the agent may restart it. */
const KEPT = 'smgr-priv-kept';
/** Had a unit file when the rule was written, removed since: listed, but must not become a transient unit. */
const REMOVED = 'smgr-priv-removed';
/** Never had a unit file (restart_strategy auto lists NAME.service anyway). */
const GHOST = 'smgr-priv-ghost';
const SUITES: { suite: RootfsSuite; name: string; systemd: number }[] = [
  { suite: 'bookworm', name: 'bookworm', systemd: 252 },
  { suite: 'trixie', name: 'trixie', systemd: 257 },
];

const file = useCleanup();

/** argv run as the smgr-agent user, as the agent and its hooks run. */
const asAgent = (argv: string[]) => ['setpriv', '--reuid=smgr-agent', '--regid=smgr-agent', '--init-groups', ...argv];

for (const { suite, name, systemd } of SUITES) {
  describe(`the agent's polkit rule on Debian ${suite} (systemd ${systemd})`, () => {
    let host: NspawnHost;

    before(async () => {
      const rootfs = await ensureRootfs({ suite, log: (m) => console.log(`# ${m}`) });
      const tmp = await makeTempDir(`priv-${suite}`);
      file.add(() => tmp.remove(), `${suite} temp dir`);
      const lab = await createNetLab(`priv${suite.slice(0, 3)}`, file);
      const net = await lab.addHost(name);
      host = await bootNspawnHost({ name, rootfs: rootfs.path, netnsPath: net.nsPath });
      file.add(() => host.stop(), `nspawn ${name}`);
      const version = Number(/systemd (\d+)/.exec((await host.exec(['systemctl', '--version'])).stdout)?.[1]);
      assert.equal(version, systemd, `${suite} runs systemd ${systemd}`);

      // What the sample-service playbook and the smgr_agent role do before the rule is written.
      await host.exec(['useradd', '--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'smgr-agent']);
      for (const unit of [KEPT, REMOVED]) {
        await host.exec(['tee', `/etc/systemd/system/${unit}.service`], { input: '[Service]\nExecStart=/bin/sleep infinity\n' });
      }
      await host.systemctl('daemon-reload');
      await host.systemctl('start', `${KEPT}.service`, `${REMOVED}.service`);

      const inventory = await writeInventory(join(tmp.path, 'inventory.json'), { [name]: host.leaderPid });
      const vars = join(tmp.path, 'vars.json');
      await writeFile(
        vars,
        JSON.stringify({
          smgr_agent_services: { [KEPT]: { restart_strategy: 'service' }, [REMOVED]: { restart_strategy: 'service' }, [GHOST]: {} },
          smgr_agent_process_defaults: {},
          smgr_agent_extra_units: [],
        }),
      );
      const r = await runPlaybook(join(import.meta.dirname, 'ansible/privileges.yml'), {
        inventory,
        extraVarsFile: vars,
        logDir: tmp.path,
        name: `privileges-${suite}`,
      });
      assert.equal(r.code, 0, `playbook failed:\n${outputTail(r)}`);
      // polkitd reloads a changed rules dir by itself, a moment later; a restart makes it now.
      await host.systemctl('restart', 'polkit.service');
      // Removed after the rule was written: the rule still lists it.
      await host.exec(['rm', `/etc/systemd/system/${REMOVED}.service`]);
      await host.systemctl('stop', `${REMOVED}.service`);
      await host.systemctl('daemon-reload');
    }, LONG);

    test('the rule names the units with a unit file and leaves out the one without', async () => {
      const rule = (await host.exec(['cat', '/etc/polkit-1/rules.d/50-smgr-agent.rules'])).stdout;
      assert.match(rule, new RegExp(`^var SMGR_AGENT_UNITS = \\["${KEPT}\\.service", "${REMOVED}\\.service"\\];$`, 'm'));
      assert.match(rule, new RegExp(`^// they are installed\\): ${GHOST}\\.service$`, 'm'));
    });

    test('smgr-agent may restart a listed unit that has a unit file', async () => {
      const pid = async () => Number((await host.systemctl('show', '--property=MainPID', '--value', `${KEPT}.service`)).trim());
      const before = await pid();
      assert.ok(before > 0, `${KEPT} runs`);
      const r = await host.exec(asAgent(['systemctl', 'restart', '--no-ask-password', `${KEPT}.service`]), { allowFailure: true });
      assert.equal(r.code, 0, `restart as smgr-agent: ${r.stderr}`);
      const after = await pid();
      assert.ok(after > 0 && after !== before, `new main pid (${before} -> ${after})`);
    });

    for (const unit of [GHOST, REMOVED]) {
      test(`smgr-agent may not create a transient unit named ${unit}.service`, async () => {
        const r = await host.exec(asAgent(['systemd-run', '--no-ask-password', `--unit=${unit}.service`, '/bin/true']), { allowFailure: true });
        assert.notEqual(r.code, 0, `systemd-run --unit=${unit}.service as smgr-agent was allowed:\n${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /Access denied|Interactive authentication required|not allowed/i);
        const state = (await host.systemctl('show', '--property=LoadState,Transient', `${unit}.service`)).trim();
        assert.doesNotMatch(state, /Transient=yes/, `${unit}.service exists as a transient unit`);
      });
    }

    test('smgr-agent may not restart a unit the rule does not list', async () => {
      const r = await host.exec(asAgent(['systemctl', 'restart', '--no-ask-password', 'dbus.service']), { allowFailure: true });
      assert.notEqual(r.code, 0, 'smgr-agent restarted dbus.service');
      assert.match(r.stderr, /Access denied|Interactive authentication required/);
    });
  });
}
