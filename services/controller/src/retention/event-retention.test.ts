import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { useServers, useTestPool } from '@smgr/testing';
import { createDbPool } from '../db/pool.js';
import { migrate } from '../db/migrator.js';
import { EventRetention } from './event-retention.js';

const log = pino({ level: 'silent' });
const servers = useServers({ redis: false });

test('a sweep deletes events and closed incidents older than the retention, in batches, and keeps everything newer or open', async (t) => {
  const { db, pool } = await useTestPool(t, servers.mysql, createDbPool);
  await migrate(pool, log);

  const now = Date.parse('2026-06-01T00:00:00Z');
  const day = 86_400_000;
  const old = new Date(now - 31 * day);
  const recent = new Date(now - 29 * day);
  // 12,001 old events: more than two delete batches.
  const oldEvents = Array.from({ length: 12_001 }, (_, i) => [old, 'repair', i, 'old']);
  await db.exec('INSERT INTO smgr_events (at, kind, process_id, message) VALUES ?', [oldEvents]);
  await db.exec('INSERT INTO smgr_events (at, kind, process_id, message) VALUES ?', [[[recent, 'repair', 1, 'recent']]]);
  await db.exec(
    `INSERT INTO smgr_incidents (process_id, process_name, state, open_key, opened_at, closed_at) VALUES
       (1, 'a', 'resolved', NULL, ?, ?), (2, 'b', 'resolved', NULL, ?, ?), (3, 'c', 'pending', 3, ?, NULL)`,
    [old, old, recent, recent, old],
  );

  await db.exec(
    `INSERT INTO smgr_agent_events (event_id, host_id, kind, at, received_at) VALUES ('old-1', 'h', 'watch_failed', ?, ?), ('new-1', 'h', 'watch_failed', ?, ?)`,
    [old, old, recent, recent],
  );
  const audit = (at: Date, target: string) => [at, 'op', 'alarm.raise', target, 'ok', 200];
  await db.exec('INSERT INTO smgr_audit (at, token_name, action, target, outcome, status_code) VALUES ?', [
    [audit(new Date(now - 91 * day), 'old'), audit(old, 'kept'), audit(recent, 'recent')],
  ]);

  const retention = new EventRetention({ pool, retentionDays: 30, auditRetentionDays: 90, log, now: () => now });
  assert.deepEqual(await retention.sweep(), { events: 12_001, incidents: 1, agentEvents: 1, audit: 1 });
  assert.deepEqual(await db.query('SELECT message FROM smgr_events'), [{ message: 'recent' }]);
  const left = await db.query<{ process_id: number }>('SELECT process_id FROM smgr_incidents ORDER BY process_id');
  assert.deepEqual(
    left.map((r) => r.process_id),
    [2, 3],
    'the recent closed incident and the old open one stay',
  );
  assert.deepEqual(await db.query('SELECT event_id FROM smgr_agent_events'), [{ event_id: 'new-1' }]);
  assert.deepEqual(
    await db.query('SELECT target FROM smgr_audit ORDER BY id'),
    [{ target: 'kept' }, { target: 'recent' }],
    'audit rows follow their own retention',
  );
  assert.deepEqual(await retention.sweep(), { events: 0, incidents: 0, agentEvents: 0, audit: 0 }, 'a second sweep finds nothing');
});
