import { Outcome, type AgentEvent, type Hello, type JobResult, type ServiceUsageReport } from '@smgr/shared';

/**
 * What an agent may send, bounded by the columns it ends up in (migrations
 * 0001/0002/0004): a field that does not fit is refused with a reason, never
 * truncated silently, so one hostile agent cannot make a batched write fail
 * for every agent or a save retry forever.
 */
export const AGENT_LIMITS = {
  /** smgr_agents.host_id VARCHAR(255); a DNS name is at most 253. */
  hostId: 253,
  /** smgr_agents.agent_version VARCHAR(64). */
  agentVersion: 64,
  /** smgr_agents.labels is TEXT (65,535 bytes); labels are selectors, a few per host. */
  labels: 64,
  labelKey: 63,
  labelValue: 255,
  labelsJsonBytes: 16_384,
  /** smgr_agents.services MEDIUMTEXT; one Hello is at most 1 MiB anyway. */
  services: 10_000,
  /** smgr_events.service / smgr_agent_events.service VARCHAR(255). */
  serviceName: 255,
  /** smgr_events.strategy VARCHAR(32). */
  strategy: 32,
  recentJobIds: 10_000,
  /** smgr_events.job_id, smgr_agent_events.event_id VARCHAR(128). */
  jobId: 128,
  /** smgr_agent_events.kind VARCHAR(32). */
  eventKind: 32,
  /** smgr_rollout_hosts.previous_version / current_version VARCHAR(128). */
  version: 128,
  /** Services in one usage report (kept in memory, newest per host). */
  usageServices: 1000,
} as const;

/** Plausible bounds of a usage sample: anything outside is a broken or hostile agent, refused whole. */
const USAGE_BOUNDS = {
  /** 16 EiB would not fit a double exactly; no host has 2^53 bytes. */
  rssBytes: 2n ** 53n,
  /** Percent of one CPU: 10,000 cores. */
  cpuPercent: 1_000_000,
  count: 100_000_000,
  /** A century. */
  uptimeMs: 100n * 365n * 86_400_000n,
} as const;
const USAGE_SOURCES = new Set(['proc', 'cgroup']);
const RESOURCE_RULES = new Set(['memory', 'cpu', 'open_files', 'children']);
const RESOURCE_ACTIONS = new Set(['restart', 'alarm', 'event']);

const HOST_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
export const EVENT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const EVENT_KIND_RE = /^[a-z][a-z0-9_]{0,31}$/;
/** C0/C1 control characters and DEL: never part of a name, version or label an operator is shown. */
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

const q = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** Why `text` cannot be stored as field `what` of at most `max` characters, or null. */
function badText(what: string, text: string, max: number, allowEmpty = true): string | null {
  if (!allowEmpty && text.length === 0) return `${what} is empty`;
  if (text.length > max) return `${what} ${q(text)} is longer than ${max} characters (${text.length})`;
  if (CONTROL_RE.test(text)) return `${what} ${q(text)} contains control characters`;
  return null;
}

/** Returns why a Hello is unacceptable, or null. */
export function validateHello(h: Hello): string | null {
  if (!HOST_ID_RE.test(h.hostId)) return `host_id ${q(h.hostId)} is not a valid host name`;
  const version = badText('agent_version', h.agentVersion, AGENT_LIMITS.agentVersion);
  if (version) return version;
  const labels = Object.entries(h.labels);
  if (labels.length > AGENT_LIMITS.labels) return `too many labels (${labels.length} > ${AGENT_LIMITS.labels})`;
  for (const [k, v] of labels) {
    if (!LABEL_KEY_RE.test(k)) return `label name ${q(k)} is invalid: 1-${AGENT_LIMITS.labelKey} of A-Z a-z 0-9 . _ / -, starting with a letter or digit`;
    const bad = badText(`label ${k}`, v, AGENT_LIMITS.labelValue);
    if (bad) return bad;
  }
  const labelBytes = Buffer.byteLength(JSON.stringify(h.labels));
  if (labelBytes > AGENT_LIMITS.labelsJsonBytes) return `labels take ${labelBytes} bytes (> ${AGENT_LIMITS.labelsJsonBytes})`;
  if (h.services.length > AGENT_LIMITS.services) return `too many services (${h.services.length} > ${AGENT_LIMITS.services})`;
  for (const s of h.services) {
    const bad =
      badText('service name', s.name, AGENT_LIMITS.serviceName, false) ?? badText(`restart_strategy of ${s.name}`, s.restartStrategy, AGENT_LIMITS.strategy);
    if (bad) return bad;
  }
  if (h.recentJobIds.length > AGENT_LIMITS.recentJobIds) return `too many recent_job_ids (${h.recentJobIds.length} > ${AGENT_LIMITS.recentJobIds})`;
  for (const id of h.recentJobIds) {
    const bad = badText('recent job id', id, AGENT_LIMITS.jobId);
    if (bad) return bad;
  }
  return null;
}

/**
 * Why an AgentEvent cannot be recorded, or null. An event refused here is
 * never written: its identity fields would not fit their columns (and could
 * not be deduplicated), so recording it would fail or repeat on every delivery.
 */
export function validateAgentEvent(e: AgentEvent): string | null {
  if (!EVENT_ID_RE.test(e.eventId)) return `event_id ${q(e.eventId)} is invalid: 1-${AGENT_LIMITS.jobId} of A-Z a-z 0-9 . _ : -`;
  if (!EVENT_KIND_RE.test(e.kind)) return `kind ${q(e.kind)} is invalid: 1-${AGENT_LIMITS.eventKind} of a-z 0-9 _`;
  const bad = badText('service', e.service, AGENT_LIMITS.serviceName);
  if (bad) return bad;
  if (e.resource) {
    const r = e.resource;
    if (!RESOURCE_RULES.has(r.rule)) return `resource rule ${q(r.rule)} must be one of ${[...RESOURCE_RULES].join(', ')}`;
    if (!RESOURCE_ACTIONS.has(r.action)) return `resource action ${q(r.action)} must be one of ${[...RESOURCE_ACTIONS].join(', ')}`;
    if (![r.value, r.limit].every((n) => Number.isFinite(n) && n >= 0)) return 'resource value and limit must be finite and not negative';
  }
  return e.result ? validateJobResult(e.result) : null;
}

/**
 * Why a usage report cannot be kept, or null. It is refused whole (the
 * previous one stays): names must be storable and distinct, numbers finite,
 * non-negative and plausible, sources known.
 */
export function validateUsageReport(r: ServiceUsageReport): string | null {
  if (r.services.length > AGENT_LIMITS.usageServices) return `too many services (${r.services.length} > ${AGENT_LIMITS.usageServices})`;
  const seen = new Set<string>();
  for (const u of r.services) {
    const bad = badText('service', u.service, AGENT_LIMITS.serviceName, false);
    if (bad) return bad;
    if (seen.has(u.service)) return `service ${q(u.service)} appears twice`;
    seen.add(u.service);
    if (!USAGE_SOURCES.has(u.source)) return `source of ${q(u.service)} must be proc or cgroup`;
    if (u.rssBytes > USAGE_BOUNDS.rssBytes) return `rss_bytes of ${q(u.service)} is implausible (${u.rssBytes})`;
    if (u.cpuPercent !== undefined && !(Number.isFinite(u.cpuPercent) && u.cpuPercent >= 0 && u.cpuPercent <= USAGE_BOUNDS.cpuPercent)) {
      return `cpu_percent of ${q(u.service)} must be a number from 0 to ${USAGE_BOUNDS.cpuPercent}`;
    }
    for (const [name, n] of [
      ['threads', u.threads],
      ['open_files', u.openFiles ?? 0],
      ['processes', u.processes],
    ] as const) {
      if (n > USAGE_BOUNDS.count) return `${name} of ${q(u.service)} is implausible (${n})`;
    }
    if (u.uptimeMs < 0n || u.uptimeMs > USAGE_BOUNDS.uptimeMs) return `uptime_ms of ${q(u.service)} is out of range`;
    if (u.sampledAtMs < 0n || u.sampledAtMs > 253_402_300_799_000n) return `sampled_at_ms of ${q(u.service)} is out of range`;
  }
  return null;
}

/** Why a JobResult's identity fields (job id, service, versions, strategy) cannot be stored, or null. */
export function validateJobResult(r: JobResult): string | null {
  return (
    badText('job_id', r.jobId, AGENT_LIMITS.jobId) ??
    badText('service', r.service, AGENT_LIMITS.serviceName) ??
    badText('strategy', r.strategy, AGENT_LIMITS.strategy) ??
    badText('version', r.version, AGENT_LIMITS.version) ??
    r.services
      .map((s) => badText(`service`, s.service, AGENT_LIMITS.serviceName) ?? badText(`version of ${s.service}`, s.version, AGENT_LIMITS.version))
      .find((p) => p !== null) ??
    null
  );
}

/**
 * A result whose fields cannot be stored becomes a FAILED result saying why,
 * with no versions: the job ends (a rollout marks the host failed) instead of
 * its save failing and being retried forever.
 */
export function refusedResult(r: JobResult, problem: string): JobResult {
  return {
    ...r,
    outcome: Outcome.FAILED,
    message: `result refused by the controller: ${problem}`,
    strategy: r.strategy.length <= AGENT_LIMITS.strategy && !CONTROL_RE.test(r.strategy) ? r.strategy : '',
    version: '',
    services: r.services.map((s) => ({
      ...s,
      outcome: Outcome.FAILED,
      service: s.service.slice(0, AGENT_LIMITS.serviceName),
      version: '',
      message: 'refused',
    })),
  };
}

/** Event time as sent, unless it is not a date MySQL can store (then the time it arrived). */
export function eventTime(atMs: bigint, received: Date): Date {
  const ms = Number(atMs);
  // DATETIME holds 1000-01-01 .. 9999-12-31; an agent's clock may be off, but not by centuries.
  return Number.isSafeInteger(ms) && ms > 0 && ms < 253_402_300_799_000 ? new Date(ms) : received;
}
