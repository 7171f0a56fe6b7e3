/** Why a job failed, in a form an operator can act on: the step, its exit code, the end of its output (operations, rollouts, events). */
export interface StepFailureView {
  step: string;
  /** -1 when the command did not exit by itself (signal, timeout, spawn error). */
  exitCode: number;
  /** Last lines of the step's combined stdout/stderr (at most 2,000 characters). */
  outputTail: string;
}
