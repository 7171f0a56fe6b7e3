import {
  create,
  ControllerMessageSchema,
  JobRequestSchema,
  UnavailableError,
  type JobRequest,
  type JobResult,
  type Logger,
  type Operation,
} from '@smgr/shared';
import type { AgentSession } from './agent-session.js';
import { PendingJobs } from './pending-jobs.js';

/** One job for one agent: what to run, never how (the agent's own config says how). */
export interface JobSpec {
  jobId: string;
  operation: Operation;
  service: string;
  version?: string;
  /** ACTION: the action's name. */
  action?: string;
  deadlineMs?: number;
}

/** What sends jobs to agents and waits for their results: this controller's streams, or the fleet (JobRouter). */
export interface JobSender {
  runJob(hostId: string, spec: JobSpec, timeoutMs: number): Promise<JobResult>;
}

export interface RunJobOptions {
  /**
   * Reject with HOST_GONE when the host's stream here closes, instead of
   * waiting for it to come back here: with several controllers the agent
   * may come back on another one, and whoever routes the job sends it there.
   */
  leaveOnDisconnect?: boolean;
}

/** The sessions AgentJobs sends on; AgentGateway. */
export interface SessionTable {
  session(hostId: string): AgentSession | undefined;
}

/** Error codes after which a job may be sent again elsewhere under the same id (the agent dedupes by id). */
export const HOST_GONE = 'HOST_GONE';

/**
 * The job API on top of the agent streams: sends a job to a connected host
 * and resolves with its result. A job waits for its host to be connected
 * and is re-sent when the host reconnects (unless `leaveOnDisconnect`);
 * agents answer a re-sent job id from their own record instead of running
 * it twice.
 *
 * AgentGateway tells it when sessions open and close and hands it results.
 */
export class AgentJobs implements JobSender {
  private readonly pending = new PendingJobs();
  /** Jobs that end when their host's stream here closes. */
  private readonly leaving = new Set<string>();
  private readonly log: Logger;

  constructor(
    private readonly sessions: SessionTable,
    log: Logger,
  ) {
    this.log = log.child({ component: 'agent-jobs' });
  }

  isConnected(hostId: string): boolean {
    return this.sessions.session(hostId) !== undefined;
  }

  /** Jobs waiting for a result. */
  pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Sends a job to a host and resolves with its result. Rejects with a
   * retryable UnavailableError when no result came within `timeoutMs`
   * (JOB_TIMEOUT) or, with `leaveOnDisconnect`, when the host's stream here
   * closes first (HOST_GONE).
   */
  runJob(hostId: string, spec: JobSpec, timeoutMs: number, opts: RunJobOptions = {}): Promise<JobResult> {
    const existing = this.pending.existing(spec.jobId);
    if (existing) return existing;
    const request = create(JobRequestSchema, {
      jobId: spec.jobId,
      operation: spec.operation,
      service: spec.service,
      version: spec.version ?? '',
      action: spec.action ?? '',
      deadlineMs: spec.deadlineMs ?? 0,
    });
    const session = this.sessions.session(hostId);
    if (opts.leaveOnDisconnect && !session) {
      return Promise.reject(new UnavailableError(HOST_GONE, `${hostId} is not connected to this controller`, { context: { hostId, jobId: spec.jobId } }));
    }
    const promise = this.pending.add(
      hostId,
      request,
      timeoutMs,
      () =>
        new UnavailableError('JOB_TIMEOUT', `no result from ${hostId} within ${Math.round(timeoutMs / 1000)} s`, {
          context: { hostId, jobId: spec.jobId, connected: this.sessions.session(hostId) !== undefined },
        }),
    );
    if (opts.leaveOnDisconnect) {
      this.leaving.add(spec.jobId);
      void promise.catch(() => undefined).finally(() => this.leaving.delete(spec.jobId));
    }
    if (session) this.send(session, request, false);
    else this.log.info({ hostId, jobId: spec.jobId }, 'job waiting for its host to connect');
    return promise;
  }

  /** A host said Hello here: re-sends what waits for it. */
  opened(session: AgentSession): void {
    for (const request of this.pending.forHost(session.hostId)) this.send(session, request, true);
  }

  /** A host's stream here closed: jobs sent with `leaveOnDisconnect` end with HOST_GONE. */
  closed(hostId: string): void {
    const n = this.pending.rejectWhere(
      (p) => p.hostId === hostId && this.leaving.has(p.jobId),
      (h, jobId) => new UnavailableError(HOST_GONE, `${h} left this controller before answering`, { context: { hostId: h, jobId } }),
    );
    if (n > 0) this.log.info({ hostId, jobs: n }, 'host left with jobs in flight; they go where it reconnects');
  }

  /** An agent's result; false when no such job is pending on that host. */
  resolve(hostId: string, result: JobResult): boolean {
    return this.pending.resolve(hostId, result);
  }

  /**
   * Rejects every job still waiting for an agent's result with a retryable
   * error carrying `code`, so whoever runs the job next (a retry, another
   * controller) re-sends it; the agent answers a job id it already ran from
   * its journal. Returns how many jobs were handed back.
   */
  handBack(code: string, message: string): number {
    const n = this.pending.rejectAll((hostId, jobId) => new UnavailableError(code, message, { context: { hostId, jobId } }));
    if (n > 0) this.log.info({ code, jobs: n }, 'jobs in flight handed back');
    return n;
  }

  /**
   * First sends are logged at debug (the caller logs the dispatch); a re-send
   * to a reconnected agent is worth an info line.
   */
  private send(session: AgentSession, request: JobRequest, resend: boolean): void {
    if (session.send(create(ControllerMessageSchema, { msg: { case: 'jobRequest', value: request } }))) {
      this.log[resend ? 'info' : 'debug'](
        { hostId: session.hostId, jobId: request.jobId, service: request.service, operation: request.operation, resend },
        resend ? 'job re-sent to reconnected agent' : 'job sent',
      );
    }
  }
}
