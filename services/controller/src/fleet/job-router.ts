import { UnavailableError, type JobResult, type Logger } from '@smgr/shared';
import { HOST_GONE, type AgentJobs, type JobSender, type JobSpec } from '../agents/agent-jobs.js';
import { REROUTE_CODES, type DeliveryClient } from './delivery-queue.js';

export interface JobRouterOptions {
  controllerId: string;
  /** This controller's streams. */
  local: AgentJobs;
  /** Other controllers' streams, through their delivery queues. */
  delivery: Pick<DeliveryClient, 'deliver'>;
  /** The controller holding a host's stream now (HostRoutes.ownerOf). */
  ownerOf: (hostId: string) => Promise<string | null>;
  /** Whether a host is connected to any live controller (FleetView). */
  connectedAnywhere: (hostId: string) => boolean;
  log: Logger;
  /** While a host is connected nowhere, how often its route is looked up; default 250 ms. */
  pollMs?: number;
}

/**
 * Sends a job to a host wherever in the fleet its stream is: on this
 * controller's stream when it holds it, else through the delivery queue of
 * the controller that does (HostRoutes). When the host moves (its controller
 * died or let it go) the job follows it under the same job id, and the agent
 * answers an id it already ran from its journal: a job runs at most once
 * whatever the routing does. While the host is connected nowhere the job
 * waits for it, until `timeoutMs`.
 */
export class JobRouter implements JobSender {
  private readonly log: Logger;
  /** Rejects of the jobs waiting here, for handBack(). */
  private readonly waiting = new Set<(err: Error) => void>();

  constructor(private readonly opts: JobRouterOptions) {
    this.log = opts.log.child({ component: 'job-router' });
  }

  /** Connected to this controller or to another live one. */
  isConnected(hostId: string): boolean {
    return this.opts.local.isConnected(hostId) || this.opts.connectedAnywhere(hostId);
  }

  async runJob(hostId: string, spec: JobSpec, timeoutMs: number): Promise<JobResult> {
    const deadline = Date.now() + timeoutMs;
    let abort!: (err: Error) => void;
    const aborted = new Promise<never>((_, reject) => (abort = reject));
    aborted.catch(() => undefined);
    this.waiting.add(abort);
    try {
      let attempt = 0;
      let announced = false;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new UnavailableError('JOB_TIMEOUT', `no result from ${hostId} within ${Math.round(timeoutMs / 1000)} s`, {
            context: { hostId, jobId: spec.jobId, connected: this.isConnected(hostId) },
          });
        }
        if (this.opts.local.isConnected(hostId)) {
          try {
            return await Promise.race([this.opts.local.runJob(hostId, spec, left, { leaveOnDisconnect: true }), aborted]);
          } catch (err) {
            if ((err as { code?: string }).code === HOST_GONE) continue;
            throw err;
          }
        }
        const owner = await this.opts.ownerOf(hostId).catch((err: unknown) => {
          this.log.warn({ err: (err as Error).message, hostId }, 'host route not readable; retrying');
          return null;
        });
        if (owner !== null && owner !== this.opts.controllerId) {
          try {
            return await Promise.race([this.opts.delivery.deliver(owner, hostId, spec, deadline, attempt++), aborted]);
          } catch (err) {
            const code = (err as { code?: string }).code ?? '';
            if (!REROUTE_CODES.has(code)) throw err;
            this.log.info({ hostId, jobId: spec.jobId, owner, code }, 'job follows its host to another controller');
            continue;
          }
        }
        if (!announced) this.log.info({ hostId, jobId: spec.jobId }, 'job waiting for its host to connect');
        announced = true;
        let t: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (t = setTimeout(r, Math.min(this.opts.pollMs ?? 250, left)))), aborted]).finally(() => clearTimeout(t));
      }
    } finally {
      this.waiting.delete(abort);
    }
  }

  /**
   * Ends every job waiting here (on this controller's streams or on another
   * controller's) with a retryable `code`, so whoever runs it next sends it
   * again under the same id. Returns how many waits ended.
   */
  handBack(code: string, message: string): number {
    this.opts.local.handBack(code, message);
    const n = this.waiting.size;
    for (const abort of [...this.waiting]) abort(new UnavailableError(code, message));
    this.waiting.clear();
    if (n > 0) this.log.info({ code, jobs: n }, 'jobs in flight handed back');
    return n;
  }
}
