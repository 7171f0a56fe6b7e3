import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { databaseSettings, useServers, useTestDatabase, useCleanup, waitFor, type TestDatabase } from '@smgr/testing';
import { createDbPool, type DbPool } from '../db/pool.js';
import { migrate } from '../db/migrator.js';
import { LeaderLease, type LeaseRole } from './leader-lease.js';
import { spawnSync } from 'node:child_process';

/** The PID of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;
/** `token` with its PID field replaced. */
const withPid = (token: string, pid: number) =>
  token
    .split('#')
    .map((p, i) => (i === 4 ? String(pid) : p))
    .join('#');

const log = pino({ level: 'silent' });

const servers = useServers({ redis: false });

/** A pool on `db` as a controller would open it. */
function poolFor(db: TestDatabase): DbPool {
  return createDbPool(databaseSettings(servers.mysql, db.name));
}

async function setup(t: { after(fn: () => unknown): void }) {
  const cleanup = useCleanup(t);
  const db = await useTestDatabase(t, servers.mysql);
  const pools: DbPool[] = [];
  const leases: LeaderLease[] = [];
  cleanup.add(async () => {
    for (const l of leases) await l.stop();
    for (const p of pools) await p.end().catch(() => undefined);
  }, 'leases');
  const first = poolFor(db);
  pools.push(first);
  await migrate(first, log);
  /** A lease for controller `id` that records its role changes. */
  const lease = (id: string, ttlMs = 1_500) => {
    const pool = poolFor(db);
    pools.push(pool);
    const roles: LeaseRole[] = [];
    const l = new LeaderLease({ pool, controllerId: id, ttlMs, renewEveryMs: 200, log, onRoleChange: (r) => void roles.push(r) });
    leases.push(l);
    return { l, roles };
  };
  return { db, lease };
}

describe('LeaderLease', () => {
  test('the first controller takes the free lease at start; a second waits on standby', async (t) => {
    const { lease, db } = await setup(t);
    const a = lease('ctl-a');
    const b = lease('ctl-b');
    await a.l.start();
    await b.l.start();
    await a.l.settled();
    assert.equal(a.l.role, 'active');
    assert.equal(b.l.role, 'standby');
    assert.deepEqual(a.roles, ['active']);
    assert.deepEqual(b.roles, []);
    const [row] = await db.query<{ holder: string }>('SELECT holder FROM smgr_leases');
    assert.equal(row?.holder, a.l.holder);
  });

  test('when the holder stops renewing, the standby takes over once the lease has expired by MySQL time', async (t) => {
    const { lease } = await setup(t);
    const a = lease('ctl-a');
    const b = lease('ctl-b');
    await a.l.start();
    await b.l.start();
    await a.l.stop(); // a crash: no release
    await waitFor(() => b.l.role === 'active', { timeoutMs: 10_000, message: 'standby takes over' });
    assert.deepEqual(b.roles, ['active']);
  });

  test("a released lease is taken at the standby's next attempt, and the old holder reports no further change", async (t) => {
    const { lease } = await setup(t);
    const a = lease('ctl-a', 60_000);
    const b = lease('ctl-b', 60_000);
    await a.l.start();
    await b.l.start();
    await a.l.stop();
    await a.l.release();
    await waitFor(() => b.l.role === 'active', { timeoutMs: 2_000, message: 'standby takes the released lease long before the 60 s TTL' });
    assert.deepEqual(a.roles, ['active']);
  });

  test('a restarted controller with the same id is a new holder and waits out the old lease', async (t) => {
    const { lease } = await setup(t);
    const old = lease('ctl-a');
    await old.l.start();
    await old.l.stop();
    const fresh = lease('ctl-a');
    await fresh.l.start();
    assert.equal(fresh.l.role, 'standby');
    await waitFor(() => fresh.l.role === 'active', { timeoutMs: 10_000, message: 'new holder active after expiry' });
  });

  test("a controller restarted on the same machine takes its dead predecessor's lease at once", async (t) => {
    const { lease, db } = await setup(t);
    const next = lease('ctl-a', 60_000);
    const predecessor = withPid(next.l.holder, deadPid());
    await db.exec("INSERT INTO smgr_leases (name, holder, acquired_at, expires_at) VALUES ('controller', ?, NOW(3), NOW(3) + INTERVAL 60 SECOND)", [
      predecessor,
    ]);
    await next.l.start();
    assert.equal(next.l.role, 'active', 'no 60 s wait');
  });

  test('a live holder on the same machine is not displaced early', async (t) => {
    const { lease, db } = await setup(t);
    const other = lease('ctl-b', 60_000);
    // Same machine, a process that is alive (this one, under another token).
    await db.exec("INSERT INTO smgr_leases (name, holder, acquired_at, expires_at) VALUES ('controller', ?, NOW(3), NOW(3) + INTERVAL 60 SECOND)", [
      withPid(other.l.holder, 1),
    ]);
    await other.l.start();
    assert.equal(other.l.role, 'standby');
  });

  test('an active holder that cannot reach MySQL steps down when its lease runs out, and comes back after', async (t) => {
    if (servers.mysql.external) return t.skip('SMGR_TEST_MYSQL_URL cannot be stopped');
    const { lease } = await setup(t);
    const a = lease('ctl-a');
    await a.l.start();
    await a.l.settled();
    await servers.mysql.stopServer();
    try {
      await waitFor(() => a.l.role === 'standby', { timeoutMs: 15_000, message: 'stepped down without MySQL' });
    } finally {
      await servers.mysql.startServer();
    }
    await waitFor(() => a.l.role === 'active', { timeoutMs: 15_000, message: 'active again' });
    await a.l.settled();
    assert.deepEqual(a.roles, ['active', 'standby', 'active']);
  });
});
