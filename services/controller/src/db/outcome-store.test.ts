import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createTestDatabase, startMariaDb, useCleanup, type MariaDbInstance } from '../../../../test/harness/index.js';
import { createDbPool } from './pool.js';
import { migrate } from './migrator.js';
import { IncidentStore, type Incident } from './incident-store.js';
import { OutcomeStore, type OutcomeToRecord } from './outcome-store.js';
import { CircuitBreaker } from '../repair/circuit-breaker.js';

let mysql: MariaDbInstance;
before(async () => {
  mysql = await startMariaDb();
});
after(() => mysql?.stop());

test('outcomes recorded in one batch: each incident once, duplicates and stale jobs write nothing, breakers and notes per process', async (t) => {
  const cleanup = useCleanup(t);
  const db = await createTestDatabase(mysql);
  cleanup.add(() => db.drop(), 'database');
  const pool = createDbPool({ host: mysql.host, port: mysql.port, user: mysql.user, password: mysql.password, database: db.name, connectionLimit: 2, socket: undefined });
  cleanup.add(() => pool.end(), 'pool');
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
    decide: (before) => {
      const next = success ? breaker.onSuccess() : breaker.onFailure(before, now);
      const note = success ? `restarted ${inc.processId}` : `repair failed ${inc.processId} after ${next.consecutiveFailures}`;
      return {
        note,
        breaker: next,
        retryAt: success ? null : new Date(now + 10_000),
        event: { kind: 'repair', processId: inc.processId, incidentId: inc.id, jobId, outcome: success ? 'succeeded' : 'failed', message: note },
      };
    },
  });
  const written = await new OutcomeStore(pool, () => new Date('2026-11-22T10:00:00Z')).record([
    outcome(a!, a!.jobId!, true),
    outcome(b!, b!.jobId!, false),
    outcome(a!, a!.jobId!, true), // the same job answered twice (a duplicate delivery)
    outcome(c!, 'inc-999-a1', true), // not the incident's current job
  ]);
  assert.deepEqual(written, [true, true, false, false]);

  const status = await db.query<{ process_id: number; alarma: number; notes: string | null }>('SELECT process_id, alarma, notes FROM STATUS_PROCESS ORDER BY process_id');
  assert.deepEqual(status, [
    { process_id: 1, alarma: 0, notes: '2026-11-22 10:00:00Z restarted 1' },
    { process_id: 2, alarma: 1, notes: '2026-11-22 10:00:00Z repair failed 2 after 2' },
    { process_id: 3, alarma: 1, notes: null },
  ]);
  const states = await db.query<{ process_id: number; state: string; open_key: number | null; next_attempt_at: Date | null }>(
    'SELECT process_id, state, open_key, next_attempt_at FROM smgr_incidents ORDER BY process_id',
  );
  assert.deepEqual(
    states.map((s) => [s.process_id, s.state, s.open_key, s.next_attempt_at?.toISOString() ?? null]),
    [
      [1, 'resolved', null, null],
      [2, 'pending', 2, '2026-11-22T10:00:10.000Z'],
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
  const events = await db.query<{ process_id: number; outcome: string }>("SELECT process_id, outcome FROM smgr_events WHERE kind = 'repair' ORDER BY process_id");
  assert.deepEqual(events.map((e) => [e.process_id, e.outcome]), [[1, 'succeeded'], [2, 'failed']]);
});
