import type { Logger, SmgrConfig } from '@smgr/shared';
import { runCommand } from './exec/run-command.js';
import { JobJournal } from './jobs/job-journal.js';
import { JobRunner, type OperationNotice } from './jobs/job-runner.js';
import { ServiceManagers } from './service-managers/detect-service-manager.js';
import { StrategyFactory } from './strategies/strategy-factory.js';
import type { StartedProcessExit } from './strategies/process-strategy.js';
import { HeldServices } from './watch/held-services.js';
import { StartedProcesses } from './exec/started-processes.js';

/** Service-manager queries (is there such a unit?) are quick; a hung one must not hold an operation. */
const PROBE_TIMEOUT_MS = 10_000;

/** The parts of an agent that run operations, without the controller link. */
export interface Engine {
  runner: JobRunner;
  strategies: StrategyFactory;
  holds: HeldServices;
  journal: JobJournal;
  /** Processes the agent started and knows to be running (their exit not seen yet). */
  started: StartedProcesses;
}

/**
 * Builds the operation engine from the config: service managers (sudo for
 * SysV/OpenRC when agent.sudo is set), strategies, the job journal, the
 * hold list and the job runner. The daemon and the tests build it the same way.
 */
/** What the rest of the agent hears from the engine. */
export interface EngineHooks {
  /** An operation on a service started or ended (JobRunnerOptions.onOperation). */
  onOperation?: (e: OperationNotice) => void;
  /** A process the process strategy started has exited. */
  onStartedExit?: StartedProcessExit;
}

export function createEngine(config: SmgrConfig, log: Logger, hooks: EngineHooks = {}): Engine {
  const managers = new ServiceManagers({
    ...(config.agent.sudo ? { prefix: ['sudo', '-n'] } : {}),
    probe: async (argv) => {
      const r = await runCommand(argv, { name: 'probe', timeoutMs: PROBE_TIMEOUT_MS, tailBytes: 4096 });
      return { ok: r.ok, output: r.outputTail };
    },
  });
  const started = new StartedProcesses();
  const strategies = new StrategyFactory(managers, { started, ...(hooks.onStartedExit ? { onExit: hooks.onStartedExit } : {}) });
  const journal = new JobJournal(config.agent.stateDir, config.agent.journalMaxEntries);
  const holds = new HeldServices(config.agent.stateDir);
  const runner = new JobRunner({
    services: config.processes,
    strategies: (s) => strategies.for(s),
    journal,
    holds,
    stateDir: config.agent.stateDir,
    tailBytes: config.agent.outputTailBytes,
    allowStopAll: config.agent.allowStopAll,
    log,
    ...(hooks.onOperation ? { onOperation: hooks.onOperation } : {}),
  });
  return { runner, strategies, holds, journal, started };
}
