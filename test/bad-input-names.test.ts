import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServers, useCleanup, waitFor } from '@smgr/testing';
import { addProcesses, chaosEnv, raiseAlarms, waitAllCleared, type ChaosEnv } from '@smgr/testing/chaos';
import { startLinkedPair } from './support-agent-link.js';

const servers = useServers();

/** A controller and an agent managing one counting service; `prepare` may alter the schema first. */
async function stack(t: { after(fn: () => unknown): void }, label: string, prepare?: (env: ChaosEnv) => Promise<void>) {
  const cleanup = useCleanup(t);
  const env = await chaosEnv(cleanup, servers.mysql, servers.redis, label);
  await prepare?.(env);
  const { service, controller, agent } = await startLinkedPair(cleanup, env, { controllerId: 'ctl-names', hostId: 'names-h1' });
  return { env, svc: service, controller, agent };
}

async function notesOf(env: ChaosEnv, ids: number[]): Promise<Map<number, { alarma: number; notes: string | null }>> {
  const rows = await env.db.query<{ process_id: number; alarma: number; notes: string | null }>(
    'SELECT process_id, alarma, notes FROM STATUS_PROCESS WHERE process_id IN (?)',
    [ids],
  );
  return new Map(rows.map((r) => [r.process_id, r]));
}

describe('alarms whose process names cannot be placed', () => {
  test('unknown, empty and 100-character names get a note and an event, nothing runs, and real alarms are still repaired', async (t) => {
    const { env, svc, controller, agent } = await stack(t, 'names');
    const long = `x${'n'.repeat(98)}z`;
    const cases = new Map<number, { name: string; note: RegExp; code: string }>([
      [10, { name: 'no-such-service-anywhere', note: /not repaired: no agent manages "no-such-service-anywhere"/, code: 'UNPLACED' }],
      [11, { name: '', note: /not repaired: process_name is empty/, code: 'BAD_NAME' }],
      [12, { name: '   ', note: /not repaired: process_name is empty/, code: 'BAD_NAME' }],
      [13, { name: long, note: /not repaired: no agent manages "xnnn/, code: 'UNPLACED' }],
      [14, { name: 'tab\there', note: /has control or invalid characters/, code: 'BAD_NAME' }],
    ]);
    assert.equal(long.length, 100);
    for (const [id, c] of cases) await addProcesses(env.db, [c.name], id);
    const [good] = await addProcesses(env.db, [svc.name], 20);
    const ids = [...cases.keys()];
    await raiseAlarms(env.db, [...ids, good!]);

    await waitAllCleared(env.db, [good!], 30_000, () => controller.tail());
    const noted = await waitFor(
      async () => {
        const m = await notesOf(env, ids);
        return ids.every((id) => m.get(id)?.notes) ? m : null;
      },
      { timeoutMs: 20_000, message: 'notes on every unplaceable row', context: () => controller.tail() },
    );
    for (const [id, c] of cases) {
      const row = noted.get(id)!;
      assert.equal(row.alarma, 1, `process ${id} keeps its alarm`);
      assert.match(row.notes ?? '', c.note, `note of process ${id}`);
      assert.ok(Array.from(row.notes ?? '').length <= 100, `note of process ${id} fits VARCHAR(100)`);
    }
    const events = await env.db.query<{ process_id: number; outcome: string }>(
      "SELECT process_id, outcome FROM smgr_events WHERE kind = 'unplaced' AND process_id IN (?) ORDER BY process_id",
      [ids],
    );
    assert.deepEqual(
      events.map((e) => [e.process_id, e.outcome]),
      [...cases].map(([id, c]) => [id, c.code]),
      'one event per unplaceable alarm, with its reason code',
    );
    assert.equal(agent.jsonLines().filter((j) => j.msg === 'job started').length, 1, 'only the real alarm reached the agent');
    assert.equal(controller.exitStatus, undefined);
    assert.equal((await svc.starts()).length, 1);
  });

  test('a legacy binary process_name holding bytes that are not UTF-8 gets a note instead of a crash', async (t) => {
    const { env, svc, controller } = await stack(t, 'nonutf8', async (e) => {
      // Legacy schemas without a character set hold whatever bytes writers put there.
      await e.db.exec('ALTER TABLE PROCESE MODIFY process_name VARBINARY(100) NOT NULL');
    });
    await env.db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (30, X'C3FF41FE'), (31, ?)", [Buffer.from(svc.name)]);
    await env.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (30, 1, 0, NULL), (31, 1, 0, NULL)');
    await waitAllCleared(env.db, [31], 30_000, () => controller.tail());
    const row = await waitFor(async () => ((await notesOf(env, [30])).get(30)?.notes ? (await notesOf(env, [30])).get(30) : null), {
      timeoutMs: 20_000,
      message: 'note on the non-UTF-8 row',
      context: () => controller.tail(),
    });
    assert.equal(row!.alarma, 1);
    assert.match(row!.notes ?? '', /not repaired: process_name ".*" has control or invalid characters/);
    assert.equal(controller.exitStatus, undefined);
  });
});
