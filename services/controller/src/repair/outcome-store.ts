import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { AgentEventKind } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { clip, insertEvents, type EventRecord } from '../history/event-store.js';
import { formatNote } from '../alarms/notes.js';
import type { BreakerState } from './circuit-breaker.js';
import { breakerKey, updateIncidents, type Incident } from './incident-store.js';
import { writeOutcomes } from '../alarms/alarm-store.js';

/** One repair outcome for OutcomeStore.record. */
export interface OutcomeToRecord {
  inc: Incident;
  jobId: string;
  success: boolean;
  /**
   * For a success: the host and service the repair ran on, and when it
   * finished by the agent's clock. A `watch_failed` event from that agent
   * for that service stamped after this moment means the service failed
   * again after its repair: the alarm is then left raised (see record).
   * `sentAtMs` (this controller's clock) is when the job was sent: a report
   * received before it cannot be about a failure after the repair, whatever
   * the agent's clock says.
   */
  finishedOnAgent?: { hostId: string; service: string; atMs: number; sentAtMs: number };
  /** Given the breaker row as it is now (locked), says what to write. */
  decide: (before: BreakerState) => { note: string; breaker: BreakerState; retryAt: Date | null; event: EventRecord };
}

/**
 * Writes repair outcomes. At fleet scale many jobs finish at once, so
 * outcomes are written in batches (see repair/batcher.ts): one transaction
 * and a fixed number of statements per batch, not per repair.
 */
export class OutcomeStore {
  constructor(
    private readonly pool: DbPool,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Records finished repairs, many in one transaction: per repair the event,
   * the incident, the breaker and the seed row. The incidents and breaker rows
   * are read and locked inside the transaction; each repair's breaker row is
   * handed to its `decide`, so concurrent outcomes for one process and host
   * cannot lose a failure. A repair whose incident has already moved on (a
   * replayed or duplicated job) writes nothing and gets false.
   */
  async record(outcomes: readonly OutcomeToRecord[]): Promise<boolean[]> {
    if (outcomes.length === 0) return [];
    return withTransaction(this.pool, async (c) => {
      const at = this.now();
      const ids = [...new Set(outcomes.map((o) => o.inc.id))];
      const [owned] = await c.query<RowDataPacket[]>("SELECT id, job_id FROM smgr_incidents WHERE id IN (?) AND state = 'dispatched' FOR UPDATE", [ids]);
      const currentJob = new Map(owned.map((r) => [Number(r.id), r.job_id as string]));
      // The first outcome for an incident's current job wins; a duplicate in the same batch gets false.
      const written = outcomes.map((o) => {
        const ok = currentJob.get(o.inc.id) === o.jobId;
        if (ok) currentJob.delete(o.inc.id);
        return ok;
      });
      const mine = outcomes.filter((_, i) => written[i]);
      if (mine.length === 0) return written;
      const failedAgain = await this.failedAgainAfterRepair(c, mine);
      const pairs = mine.map((o) => [o.inc.processId, o.inc.hostId ?? '']);
      const [brows] = await c.query<RowDataPacket[]>(
        `SELECT process_id, host_id, consecutive_failures, open_until FROM smgr_breakers
          WHERE (process_id, host_id) IN (${pairs.map(() => '(?, ?)').join(', ')}) FOR UPDATE`,
        pairs.flat(),
      );
      const before = new Map(
        brows.map((r) => [
          breakerKey(r.process_id as number, r.host_id as string),
          { consecutiveFailures: r.consecutive_failures as number, openUntil: r.open_until ? (r.open_until as Date).getTime() : null },
        ]),
      );
      const decided = mine.map((o) => {
        const b = before.get(breakerKey(o.inc.processId, o.inc.hostId ?? '')) ?? { consecutiveFailures: 0, openUntil: null };
        return { o, before: b, d: o.decide(b) };
      });

      const cases = (rows: typeof decided, value: (x: (typeof decided)[number]) => unknown, key: 'id' | 'process_id', orElse: string) => ({
        sql: `CASE ${key} ${rows.map(() => 'WHEN ? THEN ?').join(' ')} ELSE ${orElse} END`,
        params: rows.flatMap((x) => [key === 'id' ? x.o.inc.id : x.o.inc.processId, value(x)]),
      });
      const ok = decided.filter((x) => x.o.success);
      const failed = decided.filter((x) => !x.o.success);
      const state = cases(decided, (x) => (x.o.success ? 'resolved' : 'pending'), 'id', 'state');
      const openKey = cases(ok, () => null, 'id', 'open_key');
      const closedAt = cases(ok, () => at, 'id', 'closed_at');
      const nextAttempt = cases(failed, (x) => x.d.retryAt, 'id', 'next_attempt_at');
      const lastMessage = cases(decided, (x) => clip(x.d.note), 'id', 'last_message');
      const set = [
        `state = ${state.sql}`,
        ...(ok.length ? [`open_key = ${openKey.sql}`, `closed_at = ${closedAt.sql}`] : []),
        ...(failed.length ? [`next_attempt_at = ${nextAttempt.sql}`] : []),
        `last_message = ${lastMessage.sql}`,
      ];
      await updateIncidents(
        c,
        set,
        [...state.params, ...(ok.length ? [...openKey.params, ...closedAt.params] : []), ...(failed.length ? nextAttempt.params : []), ...lastMessage.params],
        decided.map((x) => x.o.inc.id),
      );
      const alarma = cases(ok, (x) => (failedAgain.has(x.o) ? 1 : 0), 'process_id', 'alarma');
      const notes = cases(decided, (x) => formatNote(at, failedAgain.has(x.o) ? `failed again after repair; ${x.d.note}` : x.d.note), 'process_id', 'notes');
      await writeOutcomes(
        c,
        decided.map((x) => x.o.inc.processId),
        notes,
        ok.length ? alarma : null,
      );
      // The common case, a success on a closed breaker, changes nothing there.
      const changed = decided.filter((x) => x.d.breaker.consecutiveFailures !== x.before.consecutiveFailures || x.d.breaker.openUntil !== x.before.openUntil);
      if (changed.length > 0) {
        await c.query(
          `INSERT INTO smgr_breakers (process_id, host_id, consecutive_failures, open_until) VALUES ?
           ON DUPLICATE KEY UPDATE consecutive_failures = VALUES(consecutive_failures), open_until = VALUES(open_until)`,
          [
            changed.map((x) => [
              x.o.inc.processId,
              x.o.inc.hostId ?? '',
              x.d.breaker.consecutiveFailures,
              x.d.breaker.openUntil === null ? null : new Date(x.d.breaker.openUntil),
            ]),
          ],
        );
      }
      await insertEvents(
        c,
        at,
        decided.map((x) => x.d.event),
      );
      return written;
    });
  }

  /**
   * The successes whose service failed again after the repair and whose agent
   * already said so. Their alarm must stay raised: the event handler set
   * alarma = 1 for the new failure before this outcome was written (results
   * and events travel on one stream but are recorded concurrently), and
   * clearing it here would lose that failure for good.
   *
   * The STATUS_PROCESS rows are locked first, so an event recorded after this
   * read waits for this transaction and raises the alarm after it; the read
   * itself is the transaction's first consistent read (everything before it
   * locks), so it sees every event committed before the lock was taken.
   */
  private async failedAgainAfterRepair(c: PoolConnection, mine: readonly OutcomeToRecord[]): Promise<Set<OutcomeToRecord>> {
    const probes = mine.filter((o) => o.success && o.finishedOnAgent);
    const out = new Set<OutcomeToRecord>();
    if (probes.length === 0) return out;
    await c.query('SELECT process_id FROM STATUS_PROCESS WHERE process_id IN (?) FOR UPDATE', [probes.map((o) => o.inc.processId)]);
    const since = new Date(Math.min(...probes.map((o) => o.finishedOnAgent!.sentAtMs)));
    const [rows] = await c.query<RowDataPacket[]>(
      `SELECT host_id, service, at, received_at FROM smgr_agent_events
        WHERE kind = ? AND received_at >= ? AND (host_id, service) IN (${probes.map(() => '(?, ?)').join(', ')})`,
      [AgentEventKind.WATCH_FAILED, since, ...probes.flatMap((o) => [o.finishedOnAgent!.hostId, o.finishedOnAgent!.service])],
    );
    for (const o of probes) {
      const f = o.finishedOnAgent!;
      // Stamped by the agent after its repair finished (same clock), and received by us after we sent the job (our clock).
      const after = rows.some(
        (r) => r.host_id === f.hostId && r.service === f.service && (r.at as Date).getTime() > f.atMs && (r.received_at as Date).getTime() >= f.sentAtMs,
      );
      if (after) out.add(o);
    }
    return out;
  }
}
