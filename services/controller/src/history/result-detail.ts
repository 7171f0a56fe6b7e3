import { Outcome, type JobResult, type StepFailureView, type StepResult } from '@smgr/shared';

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

/** Why a job failed, in a form an operator can act on: the step, its exit code, the end of its output (the API's view, shared with the CLI). */
export type StepFailure = StepFailureView;

/** Characters of a failing step's output kept for operators (the agent already bounds it). */
export const OUTPUT_TAIL_MAX = 2_000;

/**
 * The step that made a job fail: the first one that did not succeed (the
 * agent stops there), or null when the job succeeded or ran no step.
 */
export function failedStep(r: JobResult): StepFailure | null {
  if (r.outcome === Outcome.SUCCEEDED) return null;
  const s = r.steps.find((x) => !x.ok) ?? null;
  if (s === null) return null;
  const extra = [s.timedOut ? 'timed out' : '', s.signal ? `killed by ${s.signal}` : '', s.error].filter((x) => x !== '').join('; ');
  const tail = s.outputTail.length > OUTPUT_TAIL_MAX ? s.outputTail.slice(-OUTPUT_TAIL_MAX) : s.outputTail;
  return { step: s.name, exitCode: s.exitCode, outputTail: extra === '' ? tail : `${tail}${tail === '' || tail.endsWith('\n') ? '' : '\n'}(${extra})` };
}
