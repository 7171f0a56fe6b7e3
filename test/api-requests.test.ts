import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { waitForOperation } from '@smgr/testing/operator-api';
import { useFleet } from '@smgr/testing/use-fleet';

/** What the API does with good and bad requests: alarms, operations, events, rollout validation. */
const service = uniqueServiceName('req');
const other = uniqueServiceName('oth');

const { fleet } = useFleet({
  hostIds: ['a1', 'a2', 'b1'],
  service,
  serviceOf: (h) => (h === 'b1' ? other : service),
  labels: (h) => `tier=${h.startsWith('a') ? 'x' : 'y'}`,
});

const operator = () => fleet.api.as(fleet.tokens.operator);
const rolloutCount = async () => (await fleet.db.query('SELECT id FROM smgr_rollouts')).length;

describe('bad input gets a clear answer and changes nothing', () => {
  test('an invalid rollout body gets 400 naming every bad field, and nothing is stored', async () => {
    const r = await operator().post('/v1/rollouts', {
      service: '',
      version: 'not a version',
      batchSize: 0,
      canary: -1,
      maxFailures: '150%',
      colour: 'red',
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'INVALID_REQUEST');
    const fields = new Set(r.body.fields.map((f: any) => f.field));
    for (const f of ['service', 'version', 'batchSize', 'canary', 'maxFailures', 'colour']) assert.ok(fields.has(f), `${f} named in ${r.body.message}`);
    assert.match(r.body.message, /body\.colour: unknown field/);
    assert.equal(await rolloutCount(), 0);

    const missing = await operator().post('/v1/rollouts', { service });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /body\.version: is required/);

    const notJson = await operator().call('POST', '/v1/rollouts', '{"service": ', { 'content-type': 'application/json' });
    assert.equal(notJson.status, 400);
    assert.equal(typeof notJson.body.message, 'string');
    const form = await operator().call('POST', '/v1/rollouts', 'service=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    const text = await operator().call('POST', '/v1/rollouts', 'service=x', { 'content-type': 'text/plain' });
    assert.equal(text.status, 400);
    assert.match(text.body.message, /body: must be object/);
    assert.equal(await rolloutCount(), 0);
  });

  test('an unknown service or host gets 404; a host without the service, an empty selector or impossible sizes get 422', async () => {
    const cases: [unknown, number, string, RegExp][] = [
      [{ service: 'no-such-svc', version: '2.0' }, 404, 'NOT_FOUND', /no agent manages service "no-such-svc"/],
      [{ service, version: '2.0', hosts: ['a1', 'zz9'] }, 404, 'NOT_FOUND', /unknown host\(s\): zz9/],
      [{ service, version: '2.0', hosts: ['b1'] }, 422, 'HOST_NOT_MANAGING', /b1 do not manage service/],
      [{ service, version: '2.0', labels: { tier: 'y' } }, 422, 'SELECTOR_EMPTY', /matches the selector/],
      [{ service, version: '2.0', canary: 2 }, 422, 'INVALID_ROLLOUT', /canary: must be less than the number of selected hosts \(2\)/],
      [
        { service, version: '2.0', minHealthySeconds: 30, healthyDeadlineSeconds: 10 },
        422,
        'INVALID_ROLLOUT',
        /healthyDeadlineSeconds: must be greater than minHealthySeconds/,
      ],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await operator().post('/v1/rollouts', body);
      assert.equal(r.status, status, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, code);
      assert.match(r.body.message, message);
    }
    assert.equal((await operator().get('/v1/rollouts/999')).status, 404);
    assert.equal((await operator().post('/v1/rollouts/999/pause')).status, 404);
    assert.equal((await operator().get('/v1/rollouts/abc')).status, 400);
    assert.equal(await rolloutCount(), 0);
    const audit = await fleet.db.query<{ outcome: string; status_code: number }>(
      "SELECT outcome, status_code FROM smgr_audit WHERE action = 'rollout.start' ORDER BY id",
    );
    assert.ok(audit.length >= cases.length + 3 && audit.every((a) => a.outcome === 'rejected'), 'rejected attempts are audited');
  });

  test('unknown routes get a JSON 404 and /healthz answers without a token', async () => {
    const r = await fleet.api.get('/v1/nothing-here');
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'NOT_FOUND');
    const h = await fleet.api.as(undefined).get('/healthz');
    assert.equal(h.status, 200);
    assert.equal(h.body.status, 'ok');
    assert.equal(h.body.database, 'ok');
    assert.equal(h.body.agentsConnected, 3);
  });
});

describe('alarms through the API', () => {
  test('alarms are raised and cleared by id, by name or all at once; unknown ids change nothing', async () => {
    for (const [id, name] of [
      [11, 'alpha'],
      [12, 'beta'],
      [13, 'gamma'],
    ] as const) {
      await fleet.db.query('INSERT INTO PROCESE (process_id, process_name) VALUES (?, ?)', [id, name]);
      await fleet.db.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, 0, 0, NULL)', [id]);
    }
    const alarmed = async () =>
      (await fleet.db.query<{ process_id: number }>('SELECT process_id FROM STATUS_PROCESS WHERE alarma = 1 ORDER BY process_id')).map((r) => r.process_id);

    const unknown = await operator().post('/v1/alarms/raise', { processIds: [11, 99] });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /no process with id 99/);
    assert.deepEqual(await alarmed(), []);

    const byName = await operator().post('/v1/alarms/raise', { names: ['beta'] });
    assert.equal(byName.status, 200);
    assert.equal(byName.body.changed, 1);
    assert.deepEqual(await alarmed(), [12]);
    const list = await fleet.api.as(fleet.tokens.viewer).get('/v1/alarms');
    assert.deepEqual(
      list.body.alarms.map((a: any) => [a.processId, a.name, a.alarma]),
      [[12, 'beta', 1]],
    );

    const all = await operator().post('/v1/alarms/raise', { all: true });
    assert.equal(all.body.changed, 2, 'beta was in alarm already');
    assert.equal(all.body.matched, 3);
    assert.deepEqual(await alarmed(), [11, 12, 13]);
    const both = await operator().post('/v1/alarms/clear', { all: true, processIds: [11] });
    assert.equal(both.status, 400);
    assert.match(both.body.message, /exactly one of processIds, names or all/);
    assert.deepEqual(await alarmed(), [11, 12, 13]);
    const cleared = await operator().post('/v1/alarms/clear', { all: true });
    assert.equal(cleared.status, 200);
    assert.deepEqual(await alarmed(), []);
    const processes = await fleet.api.get('/v1/processes');
    assert.deepEqual(
      processes.body.processes.map((p: any) => p.name),
      ['alpha', 'beta', 'gamma'],
    );
  });
});

describe('operations through the API', () => {
  /** POST /v1/operations, then GET /v1/operations/:id until no host is pending or running. */
  const op = async (body: object) => {
    const started = await operator().post('/v1/operations', body);
    if (started.status !== 202) return started;
    assert.match(started.body.id, /^op-[0-9a-f]{12}$/);
    assert.equal(started.body.state, 'running');
    return { status: 200, body: await waitForOperation(fleet.api.as(fleet.tokens.viewer), started.body.id) };
  };

  test('stop, status, start and update run on the selected hosts and report each host, with events and audit rows', async () => {
    const stop = await op({ operation: 'stop', service, hosts: ['a2'] });
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    assert.deepEqual(
      stop.body.hosts.map((r: any) => [r.hostId, r.state]),
      [['a2', 'succeeded']],
    );
    assert.equal(stop.body.state, 'succeeded');

    const status = await op({ operation: 'status', service, labels: { tier: 'x' } });
    assert.equal(status.status, 200);
    assert.equal(status.body.ok, false);
    assert.equal(status.body.state, 'failed');
    assert.deepEqual(status.body.summary, { pending: 0, running: 0, succeeded: 1, failed: 1, refused: 0, unavailable: 0, interrupted: 0 });
    assert.deepEqual(
      status.body.hosts.map((r: any) => [r.hostId, r.state, r.version]),
      [
        ['a1', 'succeeded', '1.0'],
        ['a2', 'failed', '1.0'],
      ],
    );
    const failed = status.body.hosts[1];
    assert.equal(failed.failure.step, 'assert_up', JSON.stringify(failed));
    assert.equal(failed.failure.exitCode, 1);
    const [audited] = await fleet.db.query<{ outcome: string; target: string }>(
      "SELECT outcome, target FROM smgr_audit WHERE action = 'operation.run' ORDER BY id DESC LIMIT 1",
    );
    assert.deepEqual(audited, { outcome: 'ok', target: `service:${service} status` });

    const start = await op({ operation: 'start', service, hosts: ['a2'] });
    assert.equal(start.body.hosts[0].state, 'succeeded');

    const noVersion = await operator().post('/v1/operations', { operation: 'update', service, hosts: ['a2'] });
    assert.equal(noVersion.status, 400);
    assert.match(noVersion.body.message, /version: is required for update/);
    const update = await op({ operation: 'update', service, hosts: ['a2'], version: '1.5' });
    assert.equal(update.body.hosts[0].state, 'succeeded', JSON.stringify(update.body));
    assert.equal(update.body.hosts[0].version, '1.5');
    assert.equal(await fleet.installed('a2'), '1.5');
    assert.equal(await fleet.installed('a1'), '1.0');

    const events = await fleet.api.as(fleet.tokens.viewer).get(`/v1/events?kind=operation&host=a2&limit=10`);
    assert.equal(events.status, 200);
    assert.deepEqual(events.body.events.map((e: any) => e.outcome).slice(0, 4), ['succeeded', 'succeeded', 'failed', 'succeeded']);
    assert.match(events.body.events[0].message, /^update 1\.5 by t-operator: /);

    const unknownService = await operator().post('/v1/operations', { operation: 'restart', service: 'nope' });
    assert.equal(unknownService.status, 404);
    const unknownOperation = await fleet.api.get('/v1/operations/op-000000000000');
    assert.equal(unknownOperation.status, 404);
  });

  test('POST answers at once with every host pending, and the operation survives a controller restart as a record', async () => {
    // A slow install keeps the host running long enough to see it pending/running and to kill the controller under it.
    const { writeFile, rm } = await import('node:fs/promises');
    const slow = `${fleet.hosts.get('a1')!.dir}/slow`;
    await writeFile(slow, '');
    try {
      const started = await operator().post('/v1/operations', { operation: 'update', service, hosts: ['a1'], version: '1.6' });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.ok(['pending', 'running'].includes(started.body.hosts[0].state), JSON.stringify(started.body));
      await fleet.restartController();
      const after = await fleet.api.get(`/v1/operations/${started.body.id}`);
      assert.equal(after.status, 200, 'the operation is still on record after a restart');
      assert.equal(after.body.state, 'interrupted');
      assert.equal(after.body.hosts[0].state, 'interrupted');
      assert.match(after.body.hosts[0].message, /controller restarted before this host answered/);
    } finally {
      await rm(slow, { force: true });
    }
  });
});
