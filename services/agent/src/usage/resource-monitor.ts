import { randomUUID } from 'node:crypto';
import {
  AgentEventKind,
  AgentEventSchema,
  create,
  formatBytes,
  Outcome,
  ServiceUsageReportSchema,
  type AgentEvent,
  type JobResult,
  type Logger,
  type ProcessConfig,
  type ServiceUsageReport,
} from '@smgr/shared';
import { ProcessNames } from '../exec/process-names.js';
import { ResourceSampler, type UsageSample } from './resource-sampler.js';
import { hasRules, ResourceRuleBook, RULE_KEYS, type ResourceRuleName, type RuleVerdict } from './resource-rules.js';

/** Services in one usage report at most; the controller refuses more (AGENT_LIMITS.usageServices). */
export const MAX_REPORTED_SERVICES = 1000;

export interface ResourceMonitorOptions {
  /** Every service of the agent's config. */
  services: readonly ProcessConfig[];
  /** agent.service_usage: sample and report every service; false: only services with resource rules, nothing reported. */
  report: boolean;
  /** agent.usage_report_interval: the least time between two reports (and two samples of a service without rules). */
  reportIntervalMs: number;
  /**
   * A reason to leave the service's rules alone this time (an operation runs,
   * it was stopped on purpose), or null. It is still sampled and reported.
   */
  skip: (service: ProcessConfig) => string | null;
  /** Restarts the service through the job runner (same path and per-service lock as a controller's job). */
  restart: (service: ProcessConfig) => Promise<JobResult>;
  /** Stores an event durably and delivers it. */
  publish: (event: AgentEvent) => void;
  /** Sends the report on the controller link; false when the link is down (it is not kept). */
  send: (report: ServiceUsageReport) => boolean;
  log: Logger;
  sampler?: ResourceSampler;
  now?: () => number;
  random?: () => number;
}

/**
 * What each service costs, and the resource rules. Watched services are
 * sampled at the end of their own watch round (ServiceWatcher's afterRound,
 * sharing the round's /proc name snapshot); the others in rounds of their
 * own, at their watch_interval, on the same terms. After each round the
 * latest sample of every service goes to the controller (best effort, not
 * journalled: the next round sends fresher numbers).
 *
 * Cost: a service with resource rules is sampled in every round of its
 * own; one without only in the first round after usage_report_interval
 * since its previous sample, and a report goes out at most once per
 * usage_report_interval (a round ends sooner than its interval promises, so
 * "due" allows a tenth of it early).
 *
 * Each sample feeds ResourceRuleBook; an exceeded rule runs its action once:
 * restart (through the job runner, one operation per service at a time),
 * alarm (an event the controller turns into the process's alarm) or event
 * (recorded only). Every action, and every clearing, is an AgentEvent
 * carrying the measured value, so it reaches the controller's history.
 */
export class ResourceMonitor {
  private readonly sampler: ResourceSampler;
  private readonly book = new ResourceRuleBook();
  private readonly latest = new Map<string, UsageSample>();
  private readonly sampled: readonly ProcessConfig[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly restarting = new Set<string>();
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private readonly log: Logger;
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly opts: ResourceMonitorOptions) {
    this.sampler = opts.sampler ?? new ResourceSampler();
    this.log = opts.log.child({ component: 'resources' });
    this.now = opts.now ?? Date.now;
    this.sampled = opts.services.filter((s) => opts.report || hasRules(s.resources));
  }

  /** True when at least one service is sampled. */
  get active(): boolean {
    return this.sampled.length > 0;
  }

  /** Starts the rounds of the services nobody watches (watched ones come through afterRound). */
  start(): void {
    const random = this.opts.random ?? Math.random;
    const byInterval = new Map<number, ProcessConfig[]>();
    for (const s of this.sampled.filter((p) => !p.watch)) {
      const group = byInterval.get(s.watchIntervalMs);
      if (group) group.push(s);
      else byInterval.set(s.watchIntervalMs, [s]);
    }
    for (const [interval, services] of byInterval) this.schedule(services, interval, Math.floor(random() * interval));
    const ruled = this.sampled.filter((s) => hasRules(s.resources)).map((s) => s.name);
    if (this.active) this.log.info({ sampled: this.sampled.length, report: this.opts.report, withRules: ruled }, 'sampling what services cost');
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** The latest sample of every sampled service, by name. */
  samples(): UsageSample[] {
    return [...this.latest.values()];
  }

  /**
   * One round: samples `services` (those of them that are sampled at all)
   * in one pass, checks their rules and reports. `names` is the round's
   * shared /proc name snapshot.
   */
  afterRound(services: readonly ProcessConfig[], names: () => ProcessNames): void {
    if (this.stopped) return;
    const now = this.now();
    const due = (at: number | undefined) => at === undefined || now - at >= this.opts.reportIntervalMs * 0.9;
    const mine = services.filter((s) => hasRules(s.resources) || (this.opts.report && due(this.latest.get(s.name)?.sampledAtMs)));
    if (mine.length === 0) return;
    const samples = this.sampler.sample(mine, names, now);
    for (const [i, sample] of samples.entries()) {
      this.latest.set(sample.service, sample);
      const s = mine[i]!;
      if (!hasRules(s.resources)) continue;
      const why = this.restarting.has(s.name) ? 'a resource restart runs' : this.opts.skip(s);
      if (why) {
        this.log.debug({ service: s.name, why }, 'resource rules skipped');
        continue;
      }
      for (const v of this.book.evaluate(s.resources, sample)) this.act(s, sample, v);
    }
    if (this.opts.report && due(this.lastReportAt)) {
      this.lastReportAt = now;
      this.report();
    }
  }

  private report(): void {
    const services = [...this.latest.values()].slice(0, MAX_REPORTED_SERVICES);
    const report = create(ServiceUsageReportSchema, {
      sampledAtMs: BigInt(this.now()),
      services: services.map((u) => ({
        service: u.service,
        running: u.running,
        source: u.source,
        mainPid: u.mainPid,
        rssBytes: BigInt(u.rssBytes),
        ...(u.cpuPercent === undefined ? {} : { cpuPercent: u.cpuPercent }),
        threads: u.threads,
        ...(u.openFiles === undefined ? {} : { openFiles: u.openFiles }),
        processes: u.processes,
        uptimeMs: BigInt(u.uptimeMs),
        restarts: u.restarts,
        sampledAtMs: BigInt(u.sampledAtMs),
      })),
    });
    const sent = this.opts.send(report);
    this.log.debug({ services: services.length, sent }, 'usage report sent');
  }

  private act(s: ProcessConfig, sample: UsageSample, v: RuleVerdict): void {
    const action = s.resources.action;
    const what = describeVerdict(v, sample);
    const fields = { service: s.name, rule: v.rule, value: v.value, limit: v.limit, checks: v.checks, mainPid: sample.mainPid };
    if (v.kind === 'over') {
      this.log.info({ ...fields, count: v.count }, 'resource rule over its limit');
      return;
    }
    if (v.kind === 'reset') {
      this.log.info({ ...fields, count: v.count }, 'resource rule back within its limit before its checks');
      return;
    }
    const event = (message: string, result?: JobResult) =>
      create(AgentEventSchema, {
        eventId: `${v.kind === 'exceeded' ? AgentEventKind.RESOURCE_EXCEEDED : AgentEventKind.RESOURCE_CLEARED}-${randomUUID()}`,
        kind: v.kind === 'exceeded' ? AgentEventKind.RESOURCE_EXCEEDED : AgentEventKind.RESOURCE_CLEARED,
        service: s.name,
        atMs: BigInt(this.now()),
        message,
        ...(result ? { result } : {}),
        resource: { rule: v.rule, value: v.value, limit: v.limit, checks: v.checks, action, mainPid: sample.mainPid },
      });
    if (v.kind === 'cleared') {
      this.log.info(fields, 'resource rule cleared');
      this.opts.publish(event(what));
      return;
    }
    if (action !== 'restart') {
      this.log.warn({ ...fields, action }, 'resource rule exceeded');
      this.opts.publish(event(`${what}: ${action === 'alarm' ? 'alarm raised' : 'recorded'}`));
      return;
    }
    this.log.warn({ ...fields, action }, 'resource rule exceeded; restarting the service');
    this.restarting.add(s.name);
    void this.opts
      .restart(s)
      .then((result) => {
        const ok = result.outcome === Outcome.SUCCEEDED;
        this.log[ok ? 'info' : 'warn']({ ...fields, ok, jobId: result.jobId, message: result.message }, 'resource restart finished');
        this.opts.publish(event(`${what}: ${ok ? 'restarted' : 'restart failed'}: ${result.message}`, result));
      })
      .catch((err: unknown) => {
        this.log.error({ ...fields, err }, 'resource restart error');
        this.opts.publish(event(`${what}: restart failed: ${(err as Error).message}`));
      })
      .finally(() => this.restarting.delete(s.name));
  }

  private schedule(services: ProcessConfig[], interval: number, delay: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        let names: ProcessNames | undefined;
        this.afterRound(services, () => (names ??= ProcessNames.capture()));
      } catch (err) {
        this.log.error({ err }, 'resource round error');
      }
      this.schedule(services, interval, interval);
    }, delay);
    // Sampling never keeps the process alive on its own.
    t.unref();
    this.timers.add(t);
  }
}

/** A value of a rule as an operator reads it: 245.3 MiB, 97.5%, 1023. */
export function formatRuleValue(rule: ResourceRuleName, value: number): string {
  if (rule === 'memory') return formatBytes(value);
  if (rule === 'cpu') return `${Math.round(value * 10) / 10}%`;
  return String(value);
}

/** "memory 245.3 MiB above max_memory 200 MiB for 3 checks (pid 412)" / "… back below … for 3 checks". */
export function describeVerdict(v: RuleVerdict, sample: Pick<UsageSample, 'mainPid'>): string {
  const value = formatRuleValue(v.rule, v.value);
  const limit = formatRuleValue(v.rule, v.limit);
  const name = v.rule.replace('_', ' ');
  return v.kind === 'exceeded'
    ? `${name} ${value} above ${RULE_KEYS[v.rule]} ${limit} for ${v.checks} checks (pid ${sample.mainPid})`
    : `${name} ${value} back below ${RULE_KEYS[v.rule]} ${limit} for ${v.checks} checks (pid ${sample.mainPid})`;
}
