/**
 * @smgr/agent's package entry: what other packages (the test kit, benches)
 * may use of the agent without reaching into its files. The daemon itself
 * starts from main.ts.
 */
export { createEngine, type Engine, type EngineHooks } from './engine.js';
export { JobRunner, ALL_SERVICES, type JobRunnerOptions, type OperationNotice } from './jobs/job-runner.js';
export { HeldServices } from './watch/held-services.js';
