import type { CommandRecord } from '../exec/run-command.js';
import type { OperationContext } from './operation-context.js';

/** What one lifecycle operation reports; the job runner turns it into a JobResult. */
export interface OperationResult {
  ok: boolean;
  /** One line for notes and logs. */
  message: string;
  /** The strategy that did the work ("process", "service"), or "lifecycle" when none had to act. */
  strategy: string;
  attempts: number;
  steps: CommandRecord[];
  /** From version_command (status, update). */
  version?: string;
  /** For service "*": one entry per service. */
  services?: { service: string; ok: boolean; message: string; version: string }[];
}

/** The message for an operation cut short by its deadline. */
export function deadlineMessage(ctx: OperationContext, during: string): string {
  return `operation deadline of ${Math.round(ctx.deadline.totalMs / 100) / 10} s reached during ${during}`;
}
