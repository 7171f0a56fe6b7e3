/**
 * @smgr/testing: the test kit. Throwaway servers (`useServers()`), test
 * databases, config builders per daemon, INI temp dirs, a silent logger, plus
 * the harness (managed processes, cleanups, waitFor, netns, nspawn). See
 * ../README.md. End-to-end helpers (real daemons, stacks, chaos, simulated
 * agents) are subpaths: `@smgr/testing/stack`, `@smgr/testing/smgr`, ….
 */
export * from './harness/index.js';
export { useServers, type Servers, type UseServersOptions } from './servers.js';
export {
  agentSections,
  controllerSections,
  databaseSection,
  databaseSettings,
  ini,
  mergeSections,
  useIniDir,
  writeConfig,
  type AgentConfigOptions,
  type ControllerConfigOptions,
  type IniDir,
  type Section,
  type Sections,
} from './config.js';
export { silentLogger } from './logger.js';
export { useTestDatabase, useTestPool } from './test-db.js';
export { thrownBy } from './thrown.js';
