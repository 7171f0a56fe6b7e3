import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { fleetCli, runCommand } from '@smgr/testing/cli';
import type { Role } from '@smgr/testing/operator-api';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * Service actions (seed 001: "clear caches" after a deployment): named
 * commands from each agent's own config, run on the hosts an operator
 * selects, refused where the agent's config does not define them, audited.
 */
const service = uniqueServiceName('act');

const { fleet } = useFleet({
  hostIds: ['web1', 'web2', 'db1'],
  service,
  labels: (h) => (h.startsWith('web') ? 'role=web' : 'role=db'),
  // The hosts' own configs: web hosts can clear their cache, db1 can only warm it.
  serviceExtra: (h, dir) => ({
    action: h.startsWith('web')
      ? [`clear-cache: sh -c 'echo "$SMGR_ACTION %s" >> ${join(dir, 'actions')}'`, `fail-it: sh -c 'echo cache locked >&2; exit 3'`]
      : [`warm: sh -c 'echo "$SMGR_ACTION %s" >> ${join(dir, 'actions')}'`],
  }),
});

const smgr = (args: string[], role: Role = 'operator') => fleetCli(fleet, args, role, { timeoutMs: 120_000 });
const ran = async (hostId: string) => (await readFile(join(fleet.hosts.get(hostId)!.dir, 'actions'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

test('smgr action runs the named command on the selected hosts only', async () => {
  const r = await smgr(['action', service, 'clear-cache', '--label', 'role=web']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /web1\s+succeeded/);
  assert.match(r.stdout, /web2\s+succeeded/);
  assert.doesNotMatch(r.stdout, /db1/);
  assert.deepEqual(await ran('web1'), [`clear-cache ${service}`]);
  assert.deepEqual(await ran('web2'), [`clear-cache ${service}`]);
  assert.deepEqual(await ran('db1'), []);

  const one = await smgr(['action', service, 'warm', '--host', 'db1']);
  assert.equal(one.code, 0, one.stderr + one.stdout);
  assert.deepEqual(await ran('db1'), [`warm ${service}`]);
  assert.equal((await ran('web1')).length, 1);
});

test('a host whose config does not define the action refuses it; nothing runs there', async () => {
  const r = await smgr(['action', service, 'clear-cache', '--host', 'db1']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /db1\s+refused/);
  assert.match(r.stdout + r.stderr, /action "clear-cache" is not defined for .* in this agent's config \(defined: warm\)/);
  assert.deepEqual(await ran('db1'), [`warm ${service}`]);

  // An action nobody defines, everywhere: every host refuses, nothing runs anywhere.
  const none = await smgr(['action', service, 'rm-everything']);
  assert.equal(none.code, 1);
  assert.equal((none.stdout.match(/refused/g) ?? []).length >= 3, true, none.stdout);
  assert.equal((await ran('web1')).length, 1);

  // A failing action reports its exit code and output.
  const failed = await smgr(['action', service, 'fail-it', '--host', 'web1']);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /web1\s+failed/);
  assert.match(failed.stdout, /exit 3/);
  assert.match(failed.stdout, /cache locked/);

  // The API refuses a malformed name before anything is sent.
  const bad = await fleet.api.as(fleet.tokens.operator).post('/v1/operations', { operation: 'action', service, action: '../../bin/sh' });
  assert.equal(bad.status, 400);
  const missing = await fleet.api.as(fleet.tokens.operator).post('/v1/operations', { operation: 'action', service });
  assert.equal(missing.status, 400);
  assert.match(missing.body.message, /body\.action: is required/);
});

test('actions need the operator role and are audited, allowed or not; the README curl recipe works', async () => {
  const denied = await smgr(['action', service, 'clear-cache'], 'viewer');
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /needs operator or higher/);

  // README, "CI/CD": one curl line after a deployment.
  const curl = await runCommand(
    'curl',
    [
      '-fsS',
      '-X',
      'POST',
      `${fleet.api.url}/v1/operations`,
      '-H',
      `Authorization: Bearer ${fleet.tokens.operator}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify({ operation: 'action', service, action: 'clear-cache', labels: { role: 'web' } }),
    ],
    { HOME: fleet.dir },
    120_000,
  );
  assert.equal(curl.code, 0, curl.stderr);
  const op = JSON.parse(curl.stdout) as { id: string; action: string; hosts: { hostId: string }[] };
  assert.equal(op.action, 'clear-cache');
  assert.deepEqual(op.hosts.map((h) => h.hostId).sort(), ['web1', 'web2']);
  const shown = await smgr(['operation', 'show', op.id, '--wait']);
  assert.equal(shown.code, 0, shown.stdout + shown.stderr);
  assert.equal((await ran('web2')).length, 2);

  const audit = await fleet.db.query<{ token_name: string | null; action: string; target: string; outcome: string }>(
    "SELECT token_name, action, target, outcome FROM smgr_audit WHERE action = 'operation.run' ORDER BY id",
  );
  const targets = audit.map((a) => `${a.token_name} ${a.target} ${a.outcome}`);
  assert.ok(targets.includes(`t-operator service:${service} action clear-cache ok`), targets.join('\n'));
  assert.ok(targets.includes(`t-viewer service:${service} action clear-cache denied`), targets.join('\n'));
  assert.ok(targets.includes(`t-operator service:${service} action rm-everything ok`), targets.join('\n'));
  const events = await fleet.db.query<{ host_id: string; outcome: string; message: string }>(
    "SELECT host_id, outcome, message FROM smgr_events WHERE kind = 'operation' AND message LIKE 'action clear-cache%' ORDER BY id",
  );
  assert.ok(
    events.some((e) => e.host_id === 'db1' && e.outcome === 'refused'),
    JSON.stringify(events),
  );
});
