import type { JobRequest, JobResult } from '@smgr/shared';

interface PendingJob {
  hostId: string;
  request: JobRequest;
  promise: Promise<JobResult>;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Jobs sent (or waiting to be sent) to agents whose results have not come
 * back, by job id and by host: a reconnecting agent's jobs are found without
 * scanning every job. Each job settles exactly once: result, timeout or
 * hand-back.
 */
export class PendingJobs {
  private readonly jobs = new Map<string, PendingJob>();
  private readonly byHost = new Map<string, Set<string>>();

  get size(): number {
    return this.jobs.size;
  }

  /** The result promise of a job already pending, so a second runJob for it shares the first. */
  existing(jobId: string): Promise<JobResult> | undefined {
    return this.jobs.get(jobId)?.promise;
  }

  /** Registers a job; after `timeoutMs` without a result it is rejected with `onTimeout()`. */
  add(hostId: string, request: JobRequest, timeoutMs: number, onTimeout: () => Error): Promise<JobResult> {
    let resolve!: (r: JobResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<JobResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(() => {
      this.forget(request.jobId);
      reject(onTimeout());
    }, timeoutMs);
    this.jobs.set(request.jobId, { hostId, request, promise, resolve, reject, timer });
    let ids = this.byHost.get(hostId);
    if (!ids) this.byHost.set(hostId, (ids = new Set()));
    ids.add(request.jobId);
    return promise;
  }

  /** Requests still waiting on `hostId`, to send again when it reconnects. */
  forHost(hostId: string): JobRequest[] {
    return [...(this.byHost.get(hostId) ?? [])].flatMap((id) => {
      const p = this.jobs.get(id);
      return p ? [p.request] : [];
    });
  }

  /** Settles a job with an agent's result; false when no such job is pending on that host. */
  resolve(fromHost: string, result: JobResult): boolean {
    const p = this.jobs.get(result.jobId);
    if (!p || p.hostId !== fromHost) return false;
    this.forget(result.jobId);
    p.resolve(result);
    return true;
  }

  /** Rejects every pending job with the error `make` builds for it; returns how many. */
  rejectAll(make: (hostId: string, jobId: string) => Error): number {
    return this.rejectWhere(() => true, make);
  }

  /** Rejects the pending jobs `which` picks (by host and job id); returns how many. */
  rejectWhere(which: (job: { hostId: string; jobId: string }) => boolean, make: (hostId: string, jobId: string) => Error): number {
    const all = [...this.jobs.values()].filter((p) => which({ hostId: p.hostId, jobId: p.request.jobId }));
    for (const p of all) {
      this.forget(p.request.jobId);
      p.reject(make(p.hostId, p.request.jobId));
    }
    return all.length;
  }

  private forget(jobId: string): void {
    const p = this.jobs.get(jobId);
    if (!p) return;
    clearTimeout(p.timer);
    this.jobs.delete(jobId);
    const ids = this.byHost.get(p.hostId);
    ids?.delete(jobId);
    if (ids?.size === 0) this.byHost.delete(p.hostId);
  }
}
