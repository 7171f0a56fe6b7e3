import type { ResultSetHeader } from 'mysql2/promise';
import type { Logger } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { DELETE_OLD_EVENTS_SQL } from '../history/event-store.js';
import { DELETE_OLD_INCIDENTS_SQL } from '../repair/incident-store.js';
import { DELETE_OLD_AGENT_EVENTS_SQL } from '../agents/agent-event-handler.js';
import { DELETE_OLD_AUDIT_SQL } from '../api/audit/audit-log.js';

export interface EventRetentionOptions {
  pool: DbPool;
  /** Events, agent event ids and closed incidents older than this are deleted (monitor.event_retention_days). */
  retentionDays: number;
  /** API audit rows older than this are deleted (api.audit_retention_days); default: retentionDays. */
  auditRetentionDays?: number;
  log: Logger;
  /** Between sweeps; default one hour. The first sweep runs a minute after start. */
  everyMs?: number;
  now?: () => number;
}

/** Rows deleted per statement: short transactions that never hold long locks on a busy table. */
const BATCH = 5_000;

/**
 * Keeps smgr_events, smgr_agent_events, closed smgr_incidents and smgr_audit
 * bounded: deletes rows older than their retention in batches, using the
 * indexes on their time columns. Open incidents are never deleted, whatever
 * their age. An agent event id pruned here is older than any agent keeps an
 * unacknowledged event, so dropping its dedup row cannot record it twice.
 */
export class EventRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: EventRetentionOptions) {
    this.log = opts.log.child({ component: 'event-retention' });
  }

  start(firstAfterMs = 60_000): void {
    const every = this.opts.everyMs ?? 3_600_000;
    const run = () => {
      this.running = this.sweep()
        .catch((err) => this.log.warn({ err: (err as Error).message }, 'retention sweep failed; next one in an hour'))
        .finally(() => {
          this.running = null;
          if (this.timer) this.timer = setTimeout(run, every).unref();
        });
    };
    this.timer = setTimeout(run, firstAfterMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep; resolves with the rows deleted per table. */
  async sweep(): Promise<{ events: number; incidents: number; agentEvents: number; audit: number }> {
    // One reading of the clock: both cutoffs are measured from the same instant.
    const now = (this.opts.now ?? Date.now)();
    const cutoff = new Date(now - this.opts.retentionDays * 86_400_000);
    const auditDays = this.opts.auditRetentionDays ?? this.opts.retentionDays;
    const auditCutoff = new Date(now - auditDays * 86_400_000);
    const events = await this.deleteBatches(DELETE_OLD_EVENTS_SQL, cutoff);
    const incidents = await this.deleteBatches(DELETE_OLD_INCIDENTS_SQL, cutoff);
    const agentEvents = await this.deleteBatches(DELETE_OLD_AGENT_EVENTS_SQL, cutoff);
    const audit = await this.deleteBatches(DELETE_OLD_AUDIT_SQL, auditCutoff);
    if (events + incidents + agentEvents + audit > 0) {
      this.log.info(
        { events, incidents, agentEvents, audit, before: cutoff.toISOString(), retentionDays: this.opts.retentionDays, auditRetentionDays: auditDays },
        'old history deleted',
      );
    }
    return { events, incidents, agentEvents, audit };
  }

  private async deleteBatches(sql: string, cutoff: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const [res] = await this.opts.pool.query<ResultSetHeader>(sql, [cutoff, BATCH]);
      total += res.affectedRows;
      if (res.affectedRows < BATCH) return total;
    }
  }
}
