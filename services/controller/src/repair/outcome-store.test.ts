import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { useServers, useTestPool } from '@smgr/testing';
import { createDbPool } from '../db/pool.js';
import { migrate } from '../db/migrator.js';
import { IncidentStore, type Incident } from './incident-store.js';
import { OutcomeStore, type OutcomeToRecord } from './outcome-store.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { decideRepair } from './repair-decision.js';

const servers = useServers({ redis: false });

test('outcomes recorded in one batch: each incident once, duplicates and stale jobs write nothing, breakers and notes per process', async (t) => {
  const { db, pool } = await useTestPool(t, servers.mysql, createDbPool);
  await migrate(pool, pino({ level: 'silent' }));
  await db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  await db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma) VALUES (1, 1), (2, 1), (3, 1)');
  await db.exec("INSERT INTO smgr_breakers (process_id, host_id, consecutive_failures) VALUES (2, 'h1', 1)");
  const store = new IncidentStore(pool, () => new Date('2026-11-22T10:00:00Z'));
  await store.openIncidentsFor([1, 2, 3].map((id) => ({ processId: id, processName: 'x' })));
  const incs = (await store.openIncidents()).sort((x, y) => x.processId - y.processId);
  const claims = incs.map((inc) => ({ inc, hostId: 'h1', service: 'x', jobId: `inc-${inc.id}-a1` }));
  assert.equal((await store.markDispatchedMany(claims)).size, 3);
  const [a, b, c] = (await store.getIncidents(incs.map((i) => i.id))) as Incident[];

  const breaker = new CircuitBreaker({ maxFailures: 2, resetMs: 60_000 });
  const now = Date.parse('2026-11-22T10:00:00Z');
  const outcome = (inc: Incident, jobId: string, success: boolean): OutcomeToRecord => ({
    inc,
    jobId,
    success,
    // The worker's own policy: what the store applies is what production decides.
    decide: (before) => {
      const attempt = { success, summary: success ? `restarted ${inc.processId}` : 'exit 1', outcome: success ? 'succeeded' : 'failed' };
      const d = decideRepair({ attempt, hostId: 'h1', before, breaker, now, retryDelayMs: 10_000 });
      return { ...d, event: { kind: 'repair', processId: inc.processId, incidentId: inc.id, jobId, outcome: attempt.outcome, message: d.note } };
    },
  });
  const written = await new OutcomeStore(pool, () => new Date('2026-11-22T10:00:00Z')).record([
    outcome(a!, a!.jobId!, true),
    outcome(b!, b!.jobId!, false),
    outcome(a!, a!.jobId!, true), // the same job answered twice (a duplicate delivery)
    outcome(c!, 'inc-999-a1', true), // not the incident's current job
  ]);
  assert.deepEqual(written, [true, true, false, false]);

  const status = await db.query<{ process_id: number; alarma: number; notes: string | null }>(
    'SELECT process_id, alarma, notes FROM STATUS_PROCESS ORDER BY process_id',
  );
  assert.deepEqual(status, [
    { process_id: 1, alarma: 0, notes: '2026-11-22 10:00:00Z restarted 1' },
    { process_id: 2, alarma: 1, notes: '2026-11-22 10:00:00Z circuit open until 2026-11-22 10:01:00Z; repair failed on h1: exit 1' },
    { process_id: 3, alarma: 1, notes: null },
  ]);
  const states = await db.query<{ process_id: number; state: string; open_key: number | null; next_attempt_at: Date | null }>(
    'SELECT process_id, state, open_key, next_attempt_at FROM smgr_incidents ORDER BY process_id',
  );
  assert.deepEqual(
    states.map((s) => [s.process_id, s.state, s.open_key, s.next_attempt_at?.toISOString() ?? null]),
    [
      [1, 'resolved', null, null],
      // The failure opened the breaker: the retry waits for it to close.
      [2, 'pending', 2, '2026-11-22T10:01:00.000Z'],
      [3, 'dispatched', 3, null],
    ],
  );
  const breakers = await db.query<{ process_id: number; consecutive_failures: number; open_until: Date | null }>(
    'SELECT process_id, consecutive_failures, open_until FROM smgr_breakers ORDER BY process_id',
  );
  assert.deepEqual(
    breakers.map((r) => [r.process_id, r.consecutive_failures, r.open_until?.toISOString() ?? null]),
    [[2, 2, '2026-11-22T10:01:00.000Z']],
    'the failure counted on top of the stored one and opened the breaker; the success on a closed breaker wrote no row',
  );
  const events = await db.query<{ process_id: number; outcome: string }>(
    "SELECT process_id, outcome FROM smgr_events WHERE kind = 'repair' ORDER BY process_id",
  );
  assert.deepEqual(
    events.map((e) => [e.process_id, e.outcome]),
    [
      [1, 'succeeded'],
      [2, 'failed'],
    ],
  );
});

test('a success whose service the agent already reported failing again after the repair leaves the alarm raised', async (t) => {
  const { db, pool } = await useTestPool(t, servers.mysql, createDbPool);
  await migrate(pool, pino({ level: 'silent' }));
  await db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')");
  await db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma) VALUES (1, 1), (2, 1), (3, 1), (4, 1)');
  const store = new IncidentStore(pool);
  await store.openIncidentsFor([1, 2, 3, 4].map((id) => ({ processId: id, processName: 'x' })));
  const incs = (await store.openIncidents()).sort((x, y) => x.processId - y.processId);
  await store.markDispatchedMany(incs.map((inc) => ({ inc, hostId: 'h1', service: `s${inc.processId}`, jobId: `inc-${inc.id}-a1` })));
  const [a, b, c, d] = (await store.getIncidents(incs.map((i) => i.id))) as Incident[];
  const finished = Date.parse('2026-11-22T10:00:00.500Z');
  const sent = Date.now() - 60_000;
  // s1 failed again 1 ms after its repair finished (agent clock); s2's report is from before its repair;
  // the s3 report is from another host; s4's claims a later time but reached us before the job was sent.
  await pool.query(
    `INSERT INTO smgr_agent_events (event_id, host_id, kind, service, at, received_at) VALUES
       ('e1', 'h1', 'watch_failed', 's1', ?, NOW(3)), ('e2', 'h1', 'watch_failed', 's2', ?, NOW(3)),
       ('e3', 'h2', 'watch_failed', 's3', ?, NOW(3)), ('e4', 'h1', 'watch_failed', 's4', ?, ?)`,
    [new Date(finished + 1), new Date(finished - 2_000), new Date(finished + 5), new Date(finished + 9), new Date(sent - 1_000)],
  );
  const breaker = new CircuitBreaker({ maxFailures: 2, resetMs: 60_000 });
  const ok = (inc: Incident): OutcomeToRecord => ({
    inc,
    jobId: inc.jobId!,
    success: true,
    finishedOnAgent: { hostId: 'h1', service: `s${inc.processId}`, atMs: finished, sentAtMs: sent },
    decide: () => ({
      note: 'restarted',
      breaker: breaker.onSuccess(),
      retryAt: null,
      event: { kind: 'repair', processId: inc.processId, outcome: 'succeeded', message: 'restarted' },
    }),
  });
  assert.deepEqual(await new OutcomeStore(pool, () => new Date('2026-11-22T10:00:01Z')).record([ok(a!), ok(b!), ok(c!), ok(d!)]), [true, true, true, true]);
  const status = await db.query<{ process_id: number; alarma: number; notes: string }>(
    'SELECT process_id, alarma, notes FROM STATUS_PROCESS ORDER BY process_id',
  );
  assert.deepEqual(
    status.map((s) => [s.process_id, s.alarma, s.notes]),
    [
      [1, 1, '2026-11-22 10:00:01Z failed again after repair; restarted'],
      [2, 0, '2026-11-22 10:00:01Z restarted'],
      [3, 0, '2026-11-22 10:00:01Z restarted'],
      [4, 0, '2026-11-22 10:00:01Z restarted'],
    ],
    'only s1 failed again after its repair (s2 before it; the s3 report is from another host; s4 arrived before the job was sent)',
  );
  const states = await db.query<{ state: string }>('SELECT state FROM smgr_incidents ORDER BY process_id');
  assert.deepEqual(
    states.map((s) => s.state),
    ['resolved', 'resolved', 'resolved', 'resolved'],
    'the poller opens a new incident for the raised alarm',
  );
});
