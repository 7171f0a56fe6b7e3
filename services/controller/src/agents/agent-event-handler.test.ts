import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { create, createLogger, AgentEventSchema, JobResultSchema, Outcome, type AgentEvent, type Logger } from '@smgr/shared';
import { useServers, useTestDatabase, type TestDatabase } from '@smgr/testing';
import { migrate } from '../db/migrator.js';
import { AgentEventHandler } from './agent-event-handler.js';

let log: Logger;

const servers = useServers({ redis: false });
before(async () => {
  log = await createLogger({
    name: 'test',
    level: 'silent',
    destination: new Writable({ write: (_c, _e, done) => done() }),
    maxLogSizeBytes: 1 << 20,
    logFilesToKeep: 1,
  });
});

/** A migrated database and a handler on it; `managing` is what the registry says about who manages what. */
async function setup(
  t: { after(fn: () => unknown): void },
  opts: { createMissingRows?: boolean; managing?: Record<string, string[]>; declared?: Record<string, string[]>; unapproved?: string[]; now?: () => Date } = {},
) {
  const db = await useTestDatabase(t, servers.mysql);
  await migrate(db.pool as never, log);
  const handler = new AgentEventHandler({
    pool: db.pool as never,
    registry: {
      hostsManaging: (s) => opts.managing?.[s] ?? [],
      get: (h) => {
        const names = opts.declared?.[h];
        return names
          ? {
              hostId: h,
              labels: {},
              agentVersion: 't',
              connected: true,
              lastSeen: 0,
              services: names.map((name) => ({ name, restartStrategy: 'process', startupRank: 0, watched: true })),
            }
          : undefined;
      },
    },
    claims: { isApproved: async (h, s) => !(opts.unapproved ?? []).includes(`${s}@${h}`) },
    createMissingRows: opts.createMissingRows ?? false,
    log,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { db, handler };
}

async function addRow(db: TestDatabase, id: number, name: string, alarma = 0): Promise<void> {
  await db.exec('INSERT INTO PROCESE (process_id, process_name) VALUES (?, ?)', [id, name]);
  await db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, ?, 0, NULL)', [id, alarma]);
}

const watchFailed = (service: string, eventId = `watch_failed-${service}-1`): AgentEvent =>
  create(AgentEventSchema, {
    eventId,
    kind: 'watch_failed',
    service,
    atMs: BigInt(Date.now()),
    message: 'failed 3 watch checks in a row (exit 1)',
    failures: 3,
  });

const repair = (service: string, outcome: Outcome, eventId = `autonomous_repair-${service}-1`): AgentEvent =>
  create(AgentEventSchema, {
    eventId,
    kind: 'autonomous_repair',
    service,
    atMs: BigInt(Date.now()),
    message: 'repaired on the agent',
    result: create(JobResultSchema, {
      jobId: 'auto-1',
      outcome,
      service,
      strategy: 'process',
      message: outcome === Outcome.SUCCEEDED ? 'restarted by process strategy (pid 1 -> 2), attempt 1' : 'start command exited 1 after 2 attempts',
      durationMs: 1234n,
      steps: [{ name: 'start', argv: ['/usr/bin/app'], exitCode: 0, ok: true, durationMs: 300n }],
    }),
  });

const status = async (db: TestDatabase, id: number) =>
  (await db.query<{ alarma: number; notes: string | null }>('SELECT alarma, notes FROM STATUS_PROCESS WHERE process_id = ?', [id]))[0];
const events = (db: TestDatabase) =>
  db.query<{
    kind: string;
    process_id: number | null;
    host_id: string;
    service: string;
    outcome: string | null;
    job_id: string | null;
    message: string;
    detail: string;
  }>('SELECT kind, process_id, host_id, service, outcome, job_id, message, detail FROM smgr_events ORDER BY id');

describe('watch_failed', () => {
  test('raises the alarm on the name@host row with a note, and records the event', async (t) => {
    const { db, handler } = await setup(t);
    await addRow(db, 1, 'nginx@web1');
    await handler.handle('web1', watchFailed('nginx'));
    const s = await status(db, 1);
    assert.equal(s?.alarma, 1);
    assert.match(s?.notes ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ watch on web1: nginx failed 3 watch checks in a row \(exit 1\)$/);
    const [e] = await events(db);
    assert.equal(e?.kind, 'agent_event');
    assert.equal(e?.process_id, 1);
    assert.equal(e?.outcome, 'failing');
    assert.equal(JSON.parse(e!.detail).rows.via, 'name@host');
  });

  test('a row already in alarm keeps its note (the breaker or repair note is newer news than "still failing")', async (t) => {
    const { db, handler } = await setup(t);
    await addRow(db, 1, 'nginx@web1', 1);
    await db.exec("UPDATE STATUS_PROCESS SET notes = 'circuit open until later' WHERE process_id = 1");
    await handler.handle('web1', watchFailed('nginx'));
    const s = await status(db, 1);
    assert.equal(s?.alarma, 1);
    assert.equal(s?.notes, 'circuit open until later');
    assert.equal((await events(db)).length, 1, 'the report is in the history all the same');
  });

  test('the same event delivered twice, even at the same moment, is recorded once', async (t) => {
    const { db, handler } = await setup(t);
    await addRow(db, 1, 'nginx@web1');
    const e = watchFailed('nginx', 'watch_failed-dup');
    await Promise.all([handler.handle('web1', e), handler.handle('web1', e)]);
    await handler.handle('web1', e);
    assert.equal((await events(db)).length, 1);
    assert.equal((await db.query('SELECT * FROM smgr_agent_events')).length, 1);
  });

  test('an explicit smgr_placement row wins over a name@host row', async (t) => {
    const { db, handler } = await setup(t);
    await addRow(db, 1, 'nginx@web1');
    await addRow(db, 2, 'frontend');
    await db.exec("INSERT INTO smgr_placement (process_id, host_id, service) VALUES (2, 'web1', 'nginx')");
    await handler.handle('web1', watchFailed('nginx'));
    assert.equal((await status(db, 2))?.alarma, 1);
    assert.equal((await status(db, 1))?.alarma, 0);
  });

  test('a plain name row is used only when this host is the one agent managing the service', async (t) => {
    const { db, handler } = await setup(t, { managing: { nginx: ['web1'], redis: ['web1', 'web2'] } });
    await addRow(db, 1, 'nginx');
    await addRow(db, 2, 'redis');
    await handler.handle('web1', watchFailed('nginx'));
    await handler.handle('web1', watchFailed('redis'));
    assert.equal((await status(db, 1))?.alarma, 1);
    assert.equal((await status(db, 2))?.alarma, 0, "redis runs on two hosts: its plain row is not this host's");
    const [, second] = await events(db);
    assert.match(second?.message ?? '', /no PROCESE row matched redis@web1 \(no alarm raised; add a name@host row or set controller\.create_missing_rows\)$/);
  });

  test('with create_missing_rows a name@host row is created in alarm; without it nothing is created', async (t) => {
    const { db, handler } = await setup(t, { createMissingRows: true, declared: { web1: ['nginx'] } });
    await addRow(db, 7, 'something-else');
    await handler.handle('web1', watchFailed('nginx'));
    const rows = await db.query<{ process_id: number; process_name: string }>('SELECT process_id, process_name FROM PROCESE ORDER BY process_id');
    assert.deepEqual(
      rows.map((r) => [r.process_id, r.process_name]),
      [
        [7, 'something-else'],
        [8, 'nginx@web1'],
      ],
    );
    assert.equal((await status(db, 8))?.alarma, 1);

    const other = await setup(t);
    await other.handler.handle('web1', watchFailed('nginx'));
    assert.equal((await other.db.query('SELECT * FROM PROCESE')).length, 0);
    assert.equal((await events(other.db)).length, 1, 'the event is still in the history');
  });
});

describe('events for a service the host holds no approved claim on', () => {
  test('raise no alarm, note no row, create none, and stay in the history', async (t) => {
    const { db, handler } = await setup(t, {
      createMissingRows: true,
      managing: { nginx: ['rogue'] },
      unapproved: ['nginx@rogue', 'mysql@rogue', 'app@rogue'],
    });
    await addRow(db, 1, 'nginx');
    await addRow(db, 2, 'app@rogue');
    await handler.handle('rogue', watchFailed('nginx'));
    await handler.handle('rogue', watchFailed('app'));
    await handler.handle('rogue', repair('mysql', Outcome.FAILED));
    assert.equal((await status(db, 1))?.alarma, 0);
    assert.equal((await status(db, 1))?.notes, null);
    assert.equal((await status(db, 2))?.alarma, 0);
    assert.equal((await db.query('SELECT * FROM PROCESE')).length, 2, 'create_missing_rows created nothing');
    const recorded = await events(db);
    assert.equal(recorded.length, 3);
    for (const e of recorded) {
      assert.equal(e.process_id, null);
      assert.match(e.message, /rogue holds no approved claim on (nginx|app|mysql): recorded only/);
    }
  });
});

describe('autonomous_repair', () => {
  test('a successful repair is noted on the row and kept with its steps, without raising the alarm', async (t) => {
    const { db, handler } = await setup(t);
    await addRow(db, 3, 'app@web1');
    await handler.handle('web1', repair('app', Outcome.SUCCEEDED));
    const s = await status(db, 3);
    assert.equal(s?.alarma, 0);
    assert.match(s?.notes ?? '', /Z agent web1 repaired it on its own: restarted by process strategy/);
    const [e] = await events(db);
    assert.equal(e?.kind, 'autonomous_repair');
    assert.equal(e?.outcome, 'succeeded');
    assert.equal(e?.job_id, 'auto-1');
    assert.deepEqual(
      JSON.parse(e!.detail).result.steps.map((x: { name: string }) => x.name),
      ['start'],
    );
  });

  test('a failed repair raises the alarm so the controller takes over', async (t) => {
    const { db, handler } = await setup(t);
    await addRow(db, 3, 'app@web1');
    await handler.handle('web1', repair('app', Outcome.FAILED));
    assert.equal((await status(db, 3))?.alarma, 1);
    assert.equal((await events(db))[0]?.outcome, 'failed');
  });
});

test('an event with an invalid id writes nothing at all, however often it is delivered', async (t) => {
  const { db, handler } = await setup(t);
  await addRow(db, 1, 'nginx@web1');
  for (let i = 0; i < 3; i++) await handler.handle('web1', watchFailed('nginx', 'bad id; drop table'));
  assert.equal((await status(db, 1))?.alarma, 0);
  assert.equal((await events(db)).length, 0);
  assert.equal((await db.query('SELECT * FROM smgr_agent_events')).length, 0);
});

test('an event time MySQL cannot store is recorded at its arrival instead of failing on every delivery', async (t) => {
  const { db, handler } = await setup(t);
  await addRow(db, 1, 'nginx@web1');
  const e = watchFailed('nginx');
  e.atMs = 9_000_000_000_000_000n;
  await handler.handle('web1', e);
  assert.equal((await status(db, 1))?.alarma, 1);
  assert.equal((await db.query('SELECT * FROM smgr_agent_events')).length, 1);
});

describe('create_missing_rows against a hostile agent', () => {
  test('creates rows only for services the host declared, with plain names, at most the hourly bound per host', async (t) => {
    let now = Date.parse('2026-06-01T00:00:00Z');
    const declared = ['undeclared-not', 'bad name', ...Array.from({ length: 12 }, (_, i) => `svc${i}`)];
    const { db, handler } = await setup(t, {
      createMissingRows: true,
      declared: { web1: declared.filter((n) => n !== 'undeclared-not') },
      now: () => new Date(now),
    });
    await handler.handle('web1', watchFailed('mysql'));
    await handler.handle('web1', watchFailed('bad name', 'watch_failed-bad-1'));
    for (let i = 0; i < 12; i++) await handler.handle('web1', watchFailed(`svc${i}`));
    const names = async () => (await db.query<{ process_name: string }>('SELECT process_name FROM PROCESE ORDER BY process_id')).map((r) => r.process_name);
    assert.deepEqual(
      await names(),
      Array.from({ length: 10 }, (_, i) => `svc${i}@web1`),
      'not mysql (undeclared), not "bad name", and 10 at most',
    );
    assert.equal((await events(db)).length, 14, 'every event is still in the history');
    now += 3_600_000;
    await handler.handle('web1', watchFailed('svc11', 'watch_failed-svc11-2'));
    assert.equal((await names()).length, 11, 'the bound refills over the hour');
  });
});
