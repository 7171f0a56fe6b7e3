/**
 * The throwaway MariaDB and Redis of a lab test, reached from inside an
 * nspawn host over their UNIX sockets bound into it (files are shared
 * across network namespaces; the servers listen only on this machine's
 * loopback). Everything is registered with the given Cleanup.
 */
import { chmod } from 'node:fs/promises';
import { createTestDatabase, startMariaDb, startRedis, type Cleanup, type MariaDbInstance, type RedisInstance, type TestDatabase } from '@smgr/testing';

/** Where a host sees the test's database servers. */
export const LAB_SOCKETS = { mysql: '/run/smgr-lab/mysqld.sock', redis: '/run/smgr-lab/redis.sock' };

export interface LabServers {
  mysql: MariaDbInstance;
  redis: RedisInstance;
  db: TestDatabase;
  /** The binds that put both sockets at LAB_SOCKETS in a host. */
  binds: { source: string; target: string }[];
}

/** Starts MariaDB, Redis and a test database; `what` names the test in the error when the servers come from the environment. */
export async function startLabServers(cleanup: Cleanup, what: string): Promise<LabServers> {
  const mysql = await startMariaDb();
  cleanup.add(() => mysql.stop(), 'mariadb');
  const redis = await startRedis();
  cleanup.add(() => redis.stop(), 'redis');
  if (!mysql.socketPath || !redis.socketPath) throw new Error(`${what} needs throwaway servers (unset SMGR_TEST_MYSQL_URL / SMGR_TEST_REDIS_URL)`);
  // The controller may run as its unprivileged user inside its host; the test's
  // own Redis only listens on this socket and loopback of this machine.
  await chmod(redis.socketPath, 0o666);
  const db = await createTestDatabase(mysql);
  cleanup.add(() => db.drop(), 'database');
  const binds = [
    { source: mysql.socketPath, target: LAB_SOCKETS.mysql },
    { source: redis.socketPath, target: LAB_SOCKETS.redis },
  ];
  return { mysql, redis, db, binds };
}
