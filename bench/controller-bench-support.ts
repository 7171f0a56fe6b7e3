/**
 * Shared parts of the controller benchmarks: machine description, a
 * throwaway MariaDB + Redis + database, a real controller process (compiled
 * JS) with its RSS read from /proc, percentiles, and the JSON report.
 */
import { cpus, loadavg, totalmem, release } from 'node:os';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import {
  createTestDatabase,
  databaseSection,
  freePort,
  makeTempDir,
  ManagedProcess,
  mergeSections,
  startMariaDb,
  startRedis,
  uniquePrefix,
  type MariaDbInstance,
  type RedisInstance,
  type Sections,
  type TempDir,
  type TestDatabase,
} from '@smgr/testing';
import { CONTROLLER_MAIN, ini } from '@smgr/testing/smgr';

import { sleep } from './bench-support.js';

export { progress, sleep } from './bench-support.js';

export const quick = process.argv.includes('--quick');

export function machine(): Record<string, unknown> {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    kernel: release(),
    platform: process.platform,
    // The machine is shared: a load above the CPU count means the figures are pessimistic.
    loadavg1mAtEnd: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summary(samplesMs: readonly number[]): { n: number; p50: number; p90: number; p99: number; max: number } {
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    n: samplesMs.length,
    p50: r(percentile(samplesMs, 50)),
    p90: r(percentile(samplesMs, 90)),
    p99: r(percentile(samplesMs, 99)),
    max: r(Math.max(...samplesMs)),
  };
}

/** Resident set size of a process, from /proc/PID/status (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export interface BenchStack {
  mysql: MariaDbInstance;
  redis: RedisInstance;
  db: TestDatabase;
  /** A pool on the test database that reads DATETIMEs as UTC, like the controller writes them. */
  pool: mysql.Pool;
  tmp: TempDir;
  grpcPort: number;
  configPath: string;
  /** Starts (or starts again) the controller; resolves when it logged "controller running". */
  startController(name?: string): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

/**
 * MariaDB, Redis, a seeded database and a controller config with the
 * defaults except what `controller` overrides (plaintext gRPC: simulated
 * agents share connections, which mTLS identity checks forbid).
 */
export async function benchStack(overrides: Sections = {}): Promise<BenchStack> {
  const [mysqlServer, redis] = await Promise.all([startMariaDb(), startRedis()]);
  const tmp = await makeTempDir('bench');
  const db = await createTestDatabase(mysqlServer);
  const pool = mysql.createPool({
    host: mysqlServer.host,
    port: mysqlServer.port,
    user: mysqlServer.user,
    password: mysqlServer.password,
    database: db.name,
    timezone: 'Z',
    connectionLimit: 4,
  });
  const grpcPort = await freePort();
  const sections = mergeSections(
    {
      database: databaseSection(mysqlServer, db.name),
      redis: { url: redis.url, prefix: uniquePrefix('bench') },
      controller: { id: 'ctl-bench', grpc_listen: `127.0.0.1:${grpcPort}` },
      tls: { insecure: true },
      logging: { level: 'info' },
    },
    overrides,
  );
  const configPath = join(tmp.path, 'controller.ini');
  await writeFile(configPath, ini(sections));
  const procs: ManagedProcess[] = [];
  return {
    mysql: mysqlServer,
    redis,
    db,
    pool,
    tmp,
    grpcPort,
    configPath,
    async startController(name = 'controller') {
      const p = ManagedProcess.start(process.execPath, [CONTROLLER_MAIN, '--config', configPath], { name, maxLines: 2_000 });
      procs.push(p);
      await p.waitForLine((_, j) => j?.msg === 'controller running', 60_000, 'controller running');
      return p;
    },
    async stop() {
      for (const p of procs) await p.stop().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await db.drop().catch(() => undefined);
      await Promise.allSettled([mysqlServer.stop(), redis.stop(), tmp.remove()]);
    },
  };
}

/** PROCESE + STATUS_PROCESS rows 1..n named by `name(i)`. */
export async function seedProcesses(pool: mysql.Pool, n: number, name: (i: number) => string): Promise<number[]> {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = 0; i < n; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    await pool.query('INSERT INTO PROCESE (process_id, process_name) VALUES ?', [chunk.map((id) => [id, name(id)])]);
    await pool.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound) VALUES ?', [chunk.map((id) => [id, 0, 0])]);
  }
  return ids;
}

/** Polls `cond` every 50 ms; resolves with how long it took, or throws naming `what` after `timeoutMs`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - t0;
}

/** The host id of simulated agent `i`: sim-00001. */
export const simHost = (i: number): string => `sim-${String(i).padStart(5, '0')}`;
/** Bytes in MiB, one decimal. */
export const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;

/** Prints the report as one JSON document on stdout. */
export const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;

export function report(doc: Record<string, unknown>): void {
  process.stdout.write(
    `${JSON.stringify({ ...doc, machine: { ...machine(), loadavg1mAtStart: loadAtStart }, quick, at: new Date().toISOString() }, null, 2)}\n`,
  );
}
