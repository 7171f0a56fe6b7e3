import { Outcome, type JobResult, type StepResult } from '@smgr/shared';

/** The stored (smgr_events.detail) form of one command an agent ran. */
export function stepDetail(s: StepResult): unknown {
  return {
    name: s.name,
    argv: s.argv,
    exitCode: s.exitCode,
    signal: s.signal || undefined,
    ok: s.ok,
    timedOut: s.timedOut || undefined,
    durationMs: Number(s.durationMs),
    error: s.error || undefined,
    outputTail: s.outputTail,
  };
}

/** The stored form of an agent's result: steps with exit codes, durations and output tails. */
export function resultDetail(r: JobResult): unknown {
  return {
    outcome: Outcome[r.outcome],
    strategy: r.strategy,
    message: r.message,
    attempts: r.attempts,
    replayed: r.replayed,
    durationMs: Number(r.durationMs),
    steps: r.steps.map(stepDetail),
  };
}
