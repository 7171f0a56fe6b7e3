/**
 * smgr integration-test harness: real MariaDB and Redis (throwaway servers or
 * the ones SMGR_TEST_MYSQL_URL / SMGR_TEST_REDIS_URL name), a database and a
 * queue prefix per test, managed child processes, polling with deadlines, and
 * cleanups that run even when a test fails. See README.md in this directory.
 */
export { startMariaDb, type MariaDbInstance, type MariaDbOptions } from './mariadb.js';
export { startRedis, type RedisInstance } from './redis.js';
export {
  createTestDatabase,
  SETUP_SQL_PATH,
  type TestDatabase,
  type TestDatabaseOptions,
} from './test-database.js';
export { uniquePrefix, uniqueDatabaseName } from './unique-name.js';
export { freePort } from './free-port.js';
export { waitFor, type WaitForOptions, type Truthy } from './wait-for.js';
export { makeTempDir, type TempDir } from './temp-dir.js';
export {
  ManagedProcess,
  type ManagedProcessOptions,
  type ExitStatus,
  type OutputLine,
  type LinePredicate,
  type LogRecord,
} from './managed-process.js';
export { Cleanup, useCleanup, type AfterHookHost } from './cleanup.js';
export { createNetLab, type NetLab, type NetHost } from './netns.js';
export {
  bootNspawnHost,
  startNspawnContainer,
  type NspawnContainer,
  type NspawnContainerOptions,
  type NspawnHost,
  type NspawnHostOptions,
  type ExecOptions as NspawnExecOptions,
  type ExecResult as NspawnExecResult,
} from './nspawn.js';
export { ensureRootfs, rootfsKey, ROOTFS_PACKAGES, ROOTFS_SUITE, ROOTFS_SUITES, type Rootfs, type RootfsOptions, type RootfsSuite } from './nspawn-rootfs.js';
