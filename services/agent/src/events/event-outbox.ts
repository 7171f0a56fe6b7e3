import { AgentEventSchema, fromBinary, toBinary, type AgentEvent } from '@smgr/shared';
import { DurableAppend } from '../state/durable-append.js';

const encode = (e: AgentEvent) => Buffer.from(toBinary(AgentEventSchema, e)).toString('base64');

/**
 * Events the controller has not acknowledged yet, on disk (state_dir), so
 * that what the agent saw or did while the controller was away is delivered
 * after a reconnect or an agent restart. An event leaves the outbox only on
 * its EventAck, or when it is superseded; the controller records each
 * event_id once, so re-sending is safe. Bounded: past `maxEntries` the
 * oldest events are dropped, and `dropped` says how many.
 *
 * File format, one line each, appended (written at once, fsynced once per
 * turn of the event loop for all of that turn's lines; see DurableAppend):
 *   E <event_id> <AgentEvent, protobuf, base64>
 *   A <event_id>                                  (acknowledged or removed)
 * Compacted to the pending events once it holds three times as many lines.
 */
export class EventOutbox {
  private readonly pending = new Map<string, AgentEvent>();
  private readonly file: DurableAppend;
  /** Events dropped because the outbox was full, since the agent started. */
  dropped = 0;

  constructor(
    stateDir: string,
    private readonly maxEntries = 1000,
  ) {
    this.file = DurableAppend.inStateDir(stateDir, 'events.journal');
    this.load();
  }

  /** Pending events, oldest first. */
  list(): AgentEvent[] {
    return [...this.pending.values()];
  }

  size(): number {
    return this.pending.size;
  }

  has(eventId: string): boolean {
    return this.pending.has(eventId);
  }

  /** Stores an event (durably) before anyone tries to send it. */
  add(event: AgentEvent): void {
    this.pending.set(event.eventId, event);
    const lines = [`E ${event.eventId} ${encode(event)}`];
    while (this.pending.size > this.maxEntries) {
      const oldest = this.pending.keys().next().value!;
      this.pending.delete(oldest);
      lines.push(`A ${oldest}`);
      this.dropped++;
    }
    this.append(lines);
  }

  /** Forgets an acknowledged event. False when it was not pending (a second ack). */
  ack(eventId: string): boolean {
    if (!this.pending.delete(eventId)) return false;
    this.append([`A ${eventId}`]);
    return true;
  }

  /** Removes pending events a newer one makes pointless; returns their ids. */
  removeWhere(pred: (e: AgentEvent) => boolean): string[] {
    const ids = [...this.pending.values()].filter(pred).map((e) => e.eventId);
    for (const id of ids) this.pending.delete(id);
    if (ids.length > 0) this.append(ids.map((id) => `A ${id}`));
    return ids;
  }

  private append(lines: string[]): void {
    void this.file.append(`${lines.join('\n')}\n`);
    if (this.file.lines > Math.max(this.maxEntries, 100) * 3) this.compact();
  }

  private load(): void {
    for (const { kind, id, data } of this.file.records()) {
      if (kind === 'A') {
        this.pending.delete(id);
      } else if (kind === 'E' && data) {
        try {
          this.pending.set(id, fromBinary(AgentEventSchema, Buffer.from(data, 'base64')));
        } catch {
          // a torn last line after a crash: that event was never reported as stored
        }
      }
    }
    while (this.pending.size > this.maxEntries) {
      this.pending.delete(this.pending.keys().next().value!);
      this.dropped++;
    }
  }

  private compact(): void {
    const body = this.list()
      .map((e) => `E ${e.eventId} ${encode(e)}\n`)
      .join('');
    this.file.replace(body, { fsync: true });
  }
}
