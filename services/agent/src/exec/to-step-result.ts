import type { MessageInitShape, StepResultSchema } from '@smgr/shared';
import type { CommandRecord } from './run-command.js';

/** A command record as the protocol's StepResult. */
export function toStepResult(s: CommandRecord): MessageInitShape<typeof StepResultSchema> {
  return {
    name: s.name,
    argv: s.argv,
    exitCode: s.exitCode,
    signal: s.signal,
    durationMs: BigInt(s.durationMs),
    timedOut: s.timedOut,
    outputTail: s.outputTail,
    ok: s.ok,
    startedAtMs: BigInt(s.startedAtMs),
    error: s.error,
  };
}
