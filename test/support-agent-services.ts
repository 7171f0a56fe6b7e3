/**
 * Services for the agent tests: a sleeper (a copy of /bin/sleep under a
 * unique name, see installSleeper) in a temp dir of its own, and an engine
 * (startEngine) managing one with the process strategy. The dir, the engine
 * and anything running under the service's name go with the test's Cleanup.
 */
import { makeTempDir, useCleanup, type AfterHookHost, type Cleanup } from '@smgr/testing';
import { installSleeper, runningSample, startEngine, type Engine } from '@smgr/testing/agent-engine';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { killAll } from '@smgr/testing/procs';

/** A sleeper service: `start` runs it (`PATH infinity`); `dir` is its own temp dir. */
export interface Sleeper {
  name: string;
  path: string;
  start: string;
  dir: string;
}

/** A `[process.NAME]` section as startEngine takes it. */
type Section = Parameters<typeof startEngine>[1][string];

/** A sleeper named `<prefix>-<random>`, installed and not running. */
export async function sleeperService(cleanup: Cleanup, prefix: string): Promise<Sleeper> {
  const dir = await makeTempDir(prefix, cleanup);
  const name = uniqueServiceName(prefix);
  cleanup.add(() => killAll(name), `processes named ${name}`);
  return { name, dir: dir.path, ...(await installSleeper(dir.path, name)) };
}

type RunningSleeper = Awaited<ReturnType<typeof runningSample>>;
type Keys<S> = Section | ((svc: S) => Section);

/**
 * An engine for test `t` managing the service `install` sets up, with the
 * process strategy starting it (`start_command` its `start`) and then `keys`
 * (a function sees the service).
 */
async function engineOn<S extends { name: string; start: string }>(
  t: AfterHookHost,
  install: (cleanup: Cleanup) => Promise<S>,
  keys: Keys<S>,
): Promise<{ cleanup: Cleanup; svc: S; engine: Engine }> {
  const cleanup = useCleanup(t);
  const svc = await install(cleanup);
  const section = { restart_strategy: 'process', start_command: svc.start, ...(typeof keys === 'function' ? keys(svc) : keys) };
  return { cleanup, svc, engine: await startEngine(cleanup, { [svc.name]: section }) };
}

/** An engine (see engineOn) managing a sleeper that is not running yet. */
export const engineOnSleeper = (t: AfterHookHost, prefix: string, keys: Keys<Sleeper> = {}) => engineOn(t, (c) => sleeperService(c, prefix), keys);

/** An engine (see engineOn) managing a sleeper already running outside it (runningSample: `pid` is that process). */
export const engineOnRunningSleeper = (t: AfterHookHost, prefix: string, keys: Keys<RunningSleeper> = {}) => engineOn(t, (c) => runningSample(c, prefix), keys);
