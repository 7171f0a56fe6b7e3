import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { AgentEventKind, Outcome, type AgentEvent, type JobResult, type Logger } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { formatNote } from '../alarms/notes.js';
import type { AgentRegistry } from './agent-registry.js';
import { withTransaction } from '../db/transaction.js';
import { stepDetail } from '../history/result-detail.js';
import { TokenBuckets } from '../limits/token-bucket.js';
import { eventTime, validateAgentEvent } from './validate-agent-input.js';
import { insertEvents } from '../history/event-store.js';
import { insertProcess, nextProcessId, raiseAlarm, writeNote } from '../alarms/alarm-store.js';

/** Resource rule actions the agent may report. */
const RESOURCE_ACTIONS = new Set(['restart', 'alarm', 'event']);

/** A name an agent may have a row created for: the seed's process names, no spaces, quotes or control characters. */
const CREATABLE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** PROCESE.process_name is VARCHAR(100) in the seed schema. */
const PROCESS_NAME_MAX = 100;

export interface AgentEventHandlerOptions {
  pool: DbPool;
  /** Which hosts manage which services (for the plain `name` row of a single-host service). */
  registry: Pick<AgentRegistry, 'hostsManaging' | 'get'>;
  /**
   * Whether a host's claim on a service is approved (HostClaims). Events for
   * a service without an approved claim are kept in the history only: they
   * raise no alarm, note no row and create none.
   */
  claims: { isApproved(hostId: string, service: string): Promise<boolean> };
  /**
   * controller.create_missing_rows: create a `name@host` row for a watched
   * service that has none, only for a service the host declared in its
   * Hello, with a plain name, and at most `createdRowsPerHour` per host.
   */
  createMissingRows: boolean;
  /** Default 10: a hostile agent cannot fill PROCESE. */
  createdRowsPerHour?: number;
  /** Called after an event raised an alarm (committed): the poller can look at once. */
  onAlarmRaised?: () => void;
  log: Logger;
  now?: () => Date;
}

/** Where an agent's service lives in the seed tables. */
type RowMatch = { processIds: number[]; via: 'placement' | 'name@host' | 'name' | 'created' } | null;

type Tx = Pick<PoolConnection, 'query'>;

/**
 * Records what agents report, keeping MySQL the source of truth:
 * - `watch_failed`: the agent's own check failed watch_failures times in a
 *   row; the matching STATUS_PROCESS row gets alarma = 1 and a note, so the
 *   ordinary alarm path repairs it (a `name@host` row is created first when
 *   controller.create_missing_rows is set and no row matches);
 * - `autonomous_repair`: the agent restarted a service while this
 *   controller was unreachable; a success is noted on the row, a failure
 *   raises the alarm like `watch_failed`;
 * - `resource_exceeded`: a resource rule (max_memory, max_cpu, …) held
 *   for its checks; with action alarm, or action restart when the agent's
 *   restart failed, it raises the alarm like `watch_failed`; otherwise the
 *   row gets a note (restarted, or recorded); the measured value is in the
 *   message and the detail;
 * - anything else is kept in the history only, and so is any event for a
 *   service the host holds no approved claim on (docs/security.md, "Host
 *   claims"): an agent cannot raise alarms for services nobody approved.
 * Every event is written to smgr_events (kind 'agent_event' or
 * 'autonomous_repair') in one transaction with a smgr_agent_events row keyed
 * by event_id, so an event the agent sends again changes nothing.
 *
 * The row of a service on a host: smgr_placement rows for that host and
 * service (or service NULL and process_name = service); else process_name
 * 'service@host'; else process_name 'service' when this host is the only
 * agent managing it and the row is not placed elsewhere.
 */
/** The retention job's batch delete (retention/event-retention.ts): agent events received before `?`, at most `?` rows. */
export const DELETE_OLD_AGENT_EVENTS_SQL = 'DELETE FROM smgr_agent_events WHERE received_at < ? ORDER BY received_at LIMIT ?';

export class AgentEventHandler {
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly creations: TokenBuckets;

  constructor(private readonly opts: AgentEventHandlerOptions) {
    this.log = opts.log.child({ component: 'agent-events' });
    this.now = opts.now ?? (() => new Date());
    const perHour = opts.createdRowsPerHour ?? 10;
    this.creations = new TokenBuckets({ capacity: perHour, refillPerSecond: perHour / 3600, now: () => this.now().getTime() });
  }

  /** The gateway's onAgentEvent: resolves once the event is recorded (then it is acknowledged). */
  readonly handle = async (hostId: string, event: AgentEvent): Promise<void> => {
    if (validateAgentEvent(event) !== null) {
      // The gateway refuses these before they get here; nothing that cannot be deduplicated is written.
      this.log.error({ hostId, eventId: event.eventId.slice(0, 200) }, 'invalid agent event not recorded');
      return;
    }
    const approved = event.service !== '' && (await this.opts.claims.isApproved(hostId, event.service));
    const outcome = await withTransaction(this.opts.pool, async (c) => {
      const [claim] = await c.query<ResultSetHeader>(
        'INSERT IGNORE INTO smgr_agent_events (event_id, host_id, kind, service, at, received_at) VALUES (?, ?, ?, ?, ?, ?)',
        [event.eventId, hostId, event.kind.slice(0, 32), event.service.slice(0, 255) || null, eventTime(event.atMs, this.now()), this.now()],
      );
      if (claim.affectedRows === 0) return 'duplicate' as const;
      return this.apply(c, hostId, event, approved);
    });
    if (outcome === 'duplicate') {
      this.log.info({ hostId, eventId: event.eventId, kind: event.kind }, 'agent event already recorded; acknowledged again');
      return;
    }
    if (outcome.alarm) this.opts.onAlarmRaised?.();
    this.log[outcome.alarm ? 'warn' : 'info'](
      { hostId, eventId: event.eventId, kind: event.kind, service: event.service, processIds: outcome.processIds, via: outcome.via, alarm: outcome.alarm },
      'agent event recorded',
    );
  };

  private async apply(c: Tx, hostId: string, event: AgentEvent, approved: boolean): Promise<{ processIds: number[]; via: string | null; alarm: boolean }> {
    const result: JobResult | undefined = event.result;
    const repaired = event.kind === AgentEventKind.AUTONOMOUS_REPAIR && result?.outcome === Outcome.SUCCEEDED;
    const resource =
      event.kind === AgentEventKind.RESOURCE_EXCEEDED && event.resource && RESOURCE_ACTIONS.has(event.resource.action) ? event.resource : undefined;
    const resourceRaise = resource !== undefined && (resource.action === 'alarm' || (resource.action === 'restart' && result?.outcome !== Outcome.SUCCEEDED));
    const raise = event.kind === AgentEventKind.WATCH_FAILED || (event.kind === AgentEventKind.AUTONOMOUS_REPAIR && !repaired) || resourceRaise;
    const known = event.kind === AgentEventKind.WATCH_FAILED || event.kind === AgentEventKind.AUTONOMOUS_REPAIR || resource !== undefined;
    const summary =
      event.kind === AgentEventKind.WATCH_FAILED
        ? `watch on ${hostId}: ${event.service} ${event.message}`
        : resource !== undefined
          ? `${event.service} on ${hostId}: ${event.message}`
          : event.kind === AgentEventKind.AUTONOMOUS_REPAIR
            ? `agent ${hostId} ${repaired ? 'repaired it' : 'failed to repair it'} on its own: ${result?.message ?? event.message}`
            : `agent ${hostId} reported ${JSON.stringify(event.kind.slice(0, 32))}: ${event.message}`;

    let match: RowMatch = known && approved ? await this.findRows(c, hostId, event.service) : null;
    if (!match && raise && approved && this.opts.createMissingRows) match = await this.createRow(c, hostId, event.service, summary);
    let message = summary;
    if (known && !approved) {
      message = `${summary}; ${hostId} holds no approved claim on ${event.service}: recorded only (smgr hosts approve ${hostId} --service NAME)`;
    } else if (match && match.via !== 'created') {
      const note = formatNote(this.now(), summary);
      // A row already in alarm keeps its note (a repair's or the breaker's, newer news than "still failing").
      for (const id of match.processIds) {
        if (raise) await raiseAlarm(c, id, note);
        else await writeNote(c, id, note);
      }
    } else if (!match && known) {
      message = `${summary}; no PROCESE row matched ${event.service}@${hostId}${raise ? ' (no alarm raised; add a name@host row or set controller.create_missing_rows)' : ''}`;
    }
    const eventRowId = await insertEvents(c, this.now(), [
      {
        kind: event.kind === AgentEventKind.AUTONOMOUS_REPAIR ? AgentEventKind.AUTONOMOUS_REPAIR : 'agent_event',
        processId: match?.processIds[0] ?? null,
        hostId,
        service: event.service.slice(0, 255) || null,
        jobId: result?.jobId ? result.jobId.slice(0, 128) : null,
        outcome: result
          ? (Outcome[result.outcome] ?? 'unknown').toLowerCase()
          : event.kind === AgentEventKind.WATCH_FAILED
            ? 'failing'
            : resource
              ? 'exceeded'
              : null,
        strategy: result?.strategy ? result.strategy.slice(0, 32) : null,
        durationMs: result ? Number(result.durationMs) : null,
        message,
        detail: eventDetail(event, match),
      },
    ]);
    await c.query('UPDATE smgr_agent_events SET event_row = ? WHERE event_id = ?', [eventRowId, event.eventId]);
    return { processIds: match?.processIds ?? [], via: match?.via ?? null, alarm: raise && match !== null };
  }

  private async findRows(c: Tx, hostId: string, service: string): Promise<RowMatch> {
    const [placed] = await c.query<RowDataPacket[]>(
      `SELECT DISTINCT pl.process_id FROM smgr_placement pl JOIN PROCESE p ON p.process_id = pl.process_id
        WHERE pl.host_id = ? AND (pl.service = ? OR (pl.service IS NULL AND p.process_name = ?)) ORDER BY pl.process_id`,
      [hostId, service, service],
    );
    if (placed.length > 0) return { processIds: placed.map((r) => r.process_id as number), via: 'placement' };
    const [at] = await c.query<RowDataPacket[]>('SELECT process_id FROM PROCESE WHERE process_name = ? ORDER BY process_id', [`${service}@${hostId}`]);
    if (at.length > 0) return { processIds: at.map((r) => r.process_id as number), via: 'name@host' };
    const hosts = this.opts.registry.hostsManaging(service);
    if (hosts.length === 1 && hosts[0] === hostId) {
      const [plain] = await c.query<RowDataPacket[]>(
        `SELECT p.process_id FROM PROCESE p
          WHERE p.process_name = ? AND NOT EXISTS (SELECT 1 FROM smgr_placement pl WHERE pl.process_id = p.process_id)
          ORDER BY p.process_id`,
        [service],
      );
      if (plain.length > 0) return { processIds: plain.map((r) => r.process_id as number), via: 'name' };
    }
    return null;
  }

  /** A PROCESE + STATUS_PROCESS pair for `service@host`, in alarm, numbered max + 1 under a lock. */
  private async createRow(c: Tx, hostId: string, service: string, summary: string): Promise<RowMatch> {
    const name = `${service}@${hostId}`;
    const refuse = (why: string) => {
      this.log.warn({ hostId, service: service.slice(0, 255), why }, 'PROCESE row not created');
      return null;
    };
    if (name.length > PROCESS_NAME_MAX) return refuse('name@host is longer than 100 characters');
    if (!CREATABLE_NAME_RE.test(service)) return refuse('the service name is not plain (A-Z a-z 0-9 . _ -)');
    if (!this.opts.registry.get(hostId)?.services.some((s) => s.name === service)) {
      return refuse("the service is not among those the host's Hello declared");
    }
    if (!this.creations.take(hostId)) return refuse(`this host already had ${this.opts.createdRowsPerHour ?? 10} rows created within the hour`);
    const id = await nextProcessId(c);
    await insertProcess(c, id, name, { alarma: 1, notes: formatNote(this.now(), summary) });
    this.log.warn({ hostId, service, processId: id, processName: name }, 'PROCESE row created for a failing watched service');
    return { processIds: [id], via: 'created' };
  }
}

/** The stored form of an event: its identity, the failing check, and the repair's steps. */
function eventDetail(e: AgentEvent, match: RowMatch): unknown {
  return {
    eventId: e.eventId,
    kind: e.kind,
    atMs: Number(e.atMs),
    message: e.message,
    failures: e.failures || undefined,
    resource: e.resource
      ? {
          rule: e.resource.rule,
          value: e.resource.value,
          limit: e.resource.limit,
          checks: e.resource.checks,
          action: e.resource.action,
          mainPid: e.resource.mainPid,
        }
      : undefined,
    // Log rules: bounded here, the agent is not trusted to.
    severity: ['info', 'warning', 'critical'].includes(e.severity) ? e.severity : undefined,
    rule: e.rule ? e.rule.slice(0, 64) : undefined,
    rows: match ? { processIds: match.processIds, via: match.via } : null,
    check: e.check ? stepDetail(e.check) : undefined,
    result: e.result
      ? {
          jobId: e.result.jobId,
          outcome: Outcome[e.result.outcome],
          strategy: e.result.strategy,
          message: e.result.message,
          attempts: e.result.attempts,
          durationMs: Number(e.result.durationMs),
          steps: e.result.steps.map(stepDetail),
        }
      : undefined,
  };
}
