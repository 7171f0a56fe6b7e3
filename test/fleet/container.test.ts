/**
 * Issue 16 on an nspawn container booted WITHOUT systemd: the packaged agent
 * is the container's PID 1, run the way deploy/container/Containerfile says
 * (its ENTRYPOINT, CMD, USER and ENV, read from the file), as the image's
 * non-root user, with the state directory the image declares as a volume
 * and the TLS files as read-only secrets in /run/secrets. The container has
 * its own network namespace (veth to the lab's bridge); the controller runs
 * in another namespace of the lab and reaches the test's MariaDB and Redis
 * through their UNIX sockets. As in test/agent-pid1.test.ts: services start
 * by startup_rank, a killed daemonizing service is reaped and repaired, no
 * zombie remains, the image's HEALTHCHECK passes, and SIGTERM (the image's
 * STOPSIGNAL) stops the services by descending rank and the agent (so nspawn)
 * exits 0. Runs with SMGR_FLEET=1 (root, systemd-container).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, chmod, chown, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { createNetLab, ensureRootfs, startNspawnContainer, useCleanup, waitFor, useServers } from '@smgr/testing';
import { chaosEnv } from '@smgr/testing/chaos';
import { execForm, healthcheck, keyValues, readContainerfile } from '@smgr/testing/containerfile';
import { writeDaemonizingService } from '@smgr/testing/daemonizing';
import { childrenOf, findPids, killAll } from '@smgr/testing/procs';
import { ini, uniqueServiceName, waitForLog } from '@smgr/testing/smgr';
import { pkiFiles, runningController } from '../support-agent-link.js';
import { packageWithNode } from './support/packaged-host.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const recipe = readContainerfile(join(ROOT, 'deploy/container/Containerfile'));
const last = (k: string) => recipe.filter((i) => i.keyword === k).at(-1)!.args;
const IMAGE = {
  entrypoint: execForm(last('ENTRYPOINT'))!,
  cmd: execForm(last('CMD'))!,
  user: last('USER'),
  env: keyValues(
    recipe
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' '),
  ),
  volume: execForm(last('VOLUME'))![0]!,
  healthcheck: healthcheck(last('HEALTHCHECK')).command!,
  uid: Number(/^SMGR_UID=(\d+)$/.exec(recipe.find((i) => i.keyword === 'ARG' && i.args.startsWith('SMGR_UID='))!.args)![1]),
};

const servers = useServers();

test('in an nspawn container without systemd the agent, PID 1 as the Containerfile runs it, repairs a killed daemon, leaves no zombie, and stops by descending rank at SIGTERM with exit 0', {
  timeout: 900_000,
}, async (t) => {
  if (servers.mysql.external || servers.redis.external) return t.skip("needs the throwaway servers' UNIX sockets");
  const c = useCleanup(t);
  const rootfs = await ensureRootfs({ log: (m) => console.log(`# ${m}`) });
  const env = await chaosEnv(c, servers.mysql, servers.redis, 'container');
  const artifact = await packageWithNode(join(env.dir, 'artifact'));

  // Certificates: the controller's for its lab address, the container's as "secrets" readable by the image's user only.
  const pki = join(env.dir, 'pki');
  const smgrPki = (...args: string[]) => run(process.execPath, [join(ROOT, 'packages/shared/dist/pki/pki-main.js'), ...args], { timeout: 60_000 });
  const lab = await createNetLab('ctr', c);
  const ctlNet = await lab.addHost('ctl');
  const boxNet = await lab.addHost('box');
  await smgrPki('init', pki);
  await smgrPki('issue', pki, 'ctl', '--role', 'controller', '--san', ctlNet.address);
  await smgrPki('issue', pki, 'box', '--role', 'agent');
  const secrets = join(env.dir, 'secrets');
  await mkdir(secrets, { mode: 0o755 });
  for (const [from, to] of [
    ['ca.pem', 'smgr-ca.pem'],
    ['box.pem', 'smgr-agent.pem'],
    ['box.key', 'smgr-agent.key'],
  ] as const) {
    await copyFile(join(pki, from), join(secrets, to));
    await chown(join(secrets, to), IMAGE.uid, IMAGE.uid);
    await chmod(join(secrets, to), to.endsWith('.key') ? 0o400 : 0o444);
  }

  const grpc = `${ctlNet.address}:7443`;
  const controller = await runningController(c, env, {
    id: 'ctl-container',
    grpcListen: grpc,
    sockets: true,
    host: ctlNet,
    more: { tls: pkiFiles(pki).tls('ctl') },
  });

  const [high, killed, low] = [uniqueServiceName('c3'), uniqueServiceName('c2'), uniqueServiceName('c1')];
  for (const name of [high, killed, low]) c.add(() => killAll(name), `processes named ${name}`);
  await env.db.query('INSERT INTO PROCESE (process_id, process_name) VALUES (1, ?)', [killed]);
  await env.db.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 0, 0, NULL)');
  const order = '/srv/smgr-test/stop-order';
  const configPath = IMAGE.cmd[IMAGE.cmd.indexOf('--config') + 1]!;

  const box = await startNspawnContainer({
    name: 'smgr-ctr-box',
    rootfs: rootfs.path,
    netnsPath: boxNet.nsPath,
    binds: [
      { source: artifact, target: '/opt/smgr/current', readOnly: true },
      { source: secrets, target: '/run/secrets', readOnly: true },
    ],
    user: IMAGE.user,
    env: IMAGE.env,
    command: [...IMAGE.entrypoint, ...IMAGE.cmd],
    // What the image's RUN does (user, state dir), plus this test's config and services.
    prepare: async (root) => {
      await appendFile(join(root, 'etc/passwd'), `${IMAGE.user}:x:${IMAGE.uid}:${IMAGE.uid}::${IMAGE.volume}:/usr/sbin/nologin\n`);
      await appendFile(join(root, 'etc/group'), `${IMAGE.user}:x:${IMAGE.uid}:\n`);
      await mkdir(join(root, IMAGE.volume), { recursive: true, mode: 0o700 });
      await chown(join(root, IMAGE.volume), IMAGE.uid, IMAGE.uid);
      await mkdir(join(root, '/srv/smgr-test'), { recursive: true });
      await chown(join(root, '/srv/smgr-test'), IMAGE.uid, IMAGE.uid);
      const svc = (start: string, rank: number) => ({ restart_strategy: 'process', start_command: start, startup_rank: rank, stop_timeout: 5 });
      const services = {
        [`process.${high}`]: svc(await writeDaemonizingService(root, '/opt/svc', high, order), 30),
        [`process.${killed}`]: {
          ...svc(await writeDaemonizingService(root, '/opt/svc', killed, order), 20),
          health_check_command: 'pgrep -x %s',
          watch: true,
          watch_interval: 0.5,
          watch_failures: 2,
          restart_delay: 0.2,
        },
        [`process.${low}`]: svc(await writeDaemonizingService(root, '/opt/svc', low, order), 10),
      };
      await mkdir(join(root, 'etc/smgr'), { recursive: true });
      await writeFile(
        join(root, configPath),
        ini({
          agent: { controller: grpc, host_id: 'box', reconnect_max_delay: 1 },
          tls: { ca: '/run/secrets/smgr-ca.pem', cert: '/run/secrets/smgr-agent.pem', key: '/run/secrets/smgr-agent.key' },
          logging: { level: 'debug' },
          ...services,
        }),
      );
    },
  });
  c.add(() => box.stop(), 'nspawn container');
  const agent = box.nspawn;

  await waitForLog(agent, 'PID 1 of this PID namespace: reaping every orphan', 30_000);
  // Read once the agent runs: until nspawn's child has exec'd the launcher, and the launcher node, it is neither.
  const status = readFileSync(`/proc/${box.leaderPid}/status`, 'utf8');
  assert.match(readFileSync(`/proc/${box.leaderPid}/cmdline`, 'utf8'), /smgr-agent\.mjs/, "the container's PID 1 is the agent (the launcher exec'd node)");
  assert.match(status, new RegExp(`^Uid:\\s+${IMAGE.uid}\\s`, 'm'), 'running as the image user, not root');
  await waitForLog(controller, 'agent connected', 30_000, (j) => j.hostId === 'box');
  const started = (await waitForLog(agent, 'container start-up finished', 60_000)) as { json?: { ok?: boolean } };
  assert.equal(started.json?.ok, true, agent.tail());
  assert.deepEqual(agent.jsonLines().find((j) => j.msg === 'job started' && j.reason === 'container-start')?.order, [low, killed, high]);

  const [victim] = findPids(killed);
  assert.ok(victim, `${killed} runs`);
  process.kill(victim, 'SIGKILL');
  const repaired = await waitFor(
    async () => {
      const [row] = await env.db.query<{ alarma: number; notes: string | null }>('SELECT alarma, notes FROM STATUS_PROCESS WHERE process_id = 1');
      return row && /restarted by process strategy/.test(row.notes ?? '') ? row : null;
    },
    { timeoutMs: 60_000, message: 'the killed daemon repaired through the controller', context: () => `${agent.tail(30)}\n${controller.tail(20)}` },
  );
  assert.equal(repaired.alarma, 0);
  await waitFor(() => findPids(killed).length === 1 && findPids(killed)[0] !== victim, { timeoutMs: 15_000, message: `${killed} running again` });
  await waitFor(() => childrenOf(box.leaderPid).every((ch) => ch.state !== 'Z') && !childrenOf(box.leaderPid).some((ch) => ch.pid === victim), {
    timeoutMs: 15_000,
    message: 'no zombie child of the container PID 1',
    context: () => JSON.stringify(childrenOf(box.leaderPid)),
  });

  // The image's HEALTHCHECK, run inside the container as the runtime would.
  const health = await box.exec(IMAGE.healthcheck, { allowFailure: true });
  assert.equal(health.code, 0, `HEALTHCHECK ${IMAGE.healthcheck.join(' ')}: ${health.stderr}`);

  process.kill(box.leaderPid, 'SIGTERM');
  const exit = await agent.exited;
  assert.equal(exit.code, 0, `nspawn reports the agent's exit status; ${agent.tail(20)}`);
  const stopped = (await readFile(join(box.root, order), 'utf8')).trim().split('\n');
  assert.deepEqual(stopped, [high, killed, low], 'stopped by descending startup_rank');
  for (const name of [low, killed, high]) assert.deepEqual(findPids(name), [], `${name} is gone`);
});
