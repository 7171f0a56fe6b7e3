/** What POST /v1/operations and GET /v1/operations/:id answer, for the controller that serves them and the CLI that follows them. */
import type { StepFailureView } from './step-failure-view.js';

/** Operations the API sends to hosts (seed 003's lifecycle plus the seed 002 restart). */
export type OperationName = 'restart' | 'start' | 'stop' | 'status' | 'update' | 'action';

/**
 * An operation's state:
 *
 *   running ──every host done──> succeeded (all succeeded) | failed (any did not)
 *      └──the controller running it stopped or died first──> interrupted
 */
export type OperationState = 'running' | 'succeeded' | 'failed' | 'interrupted';

/**
 * One host's part: pending -> running -> succeeded | failed | refused |
 * unavailable (not connected: nothing sent; or no answer in time) |
 * interrupted (the controller stopped before the answer came).
 */
export type HostOperationState = 'pending' | 'running' | 'succeeded' | 'failed' | 'refused' | 'unavailable' | 'interrupted';

export interface HostOperationView {
  hostId: string;
  state: HostOperationState;
  message: string;
  version: string;
  strategy: string;
  durationMs: number;
  jobId: string;
  /** Set when the host's job failed at a step: which one, its exit code, its output tail. */
  failure: StepFailureView | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** GET /v1/operations/:id and the 202 of POST /v1/operations. */
export interface OperationView {
  id: string;
  operation: OperationName;
  service: string;
  version?: string;
  /** For operation `action`: the action's name. */
  action?: string;
  state: OperationState;
  /** True once every host succeeded. */
  ok: boolean;
  summary: Record<HostOperationState, number>;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
  timeoutSeconds: number;
  hosts: HostOperationView[];
}
