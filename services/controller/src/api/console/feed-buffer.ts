/** What the console's live feed publishes. `reset`: reload everything, what was missed is gone. */
export type FeedTopic = 'alarms' | 'history' | 'hosts' | 'rollouts' | 'operations' | 'reset';

/** One numbered event; `viewerData`, when set, is what viewers get instead of `data`. */
export interface FeedEvent {
  id: string;
  seq: number;
  topic: FeedTopic;
  data: unknown;
  viewerData?: unknown;
}

/**
 * The last `capacity` events of one feed, for clients that reconnect with
 * Last-Event-ID. Ids are `<run>.<seq>`: `run` changes with every controller
 * start, so an id from another run (or another controller) is never taken
 * for one of ours. Pure: no I/O, no clock but the run stamp given.
 */
export class FeedBuffer {
  private readonly events: FeedEvent[] = [];
  private seq = 0;
  /** Events up to this seq are gone (dropped by capacity or by clear()). */
  private horizon = 0;
  private readonly run: string;

  constructor(
    private readonly capacity: number,
    runStamp: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.run = runStamp.toString(36);
  }

  push(topic: FeedTopic, data: unknown, viewerData?: unknown): FeedEvent {
    this.seq += 1;
    const e: FeedEvent = { id: `${this.run}.${this.seq}`, seq: this.seq, topic, data, ...(viewerData === undefined ? {} : { viewerData }) };
    this.events.push(e);
    if (this.events.length > this.capacity) this.horizon = this.events.shift()!.seq;
    return e;
  }

  latest(): FeedEvent | undefined {
    return this.events[this.events.length - 1];
  }

  /** Forgets every event: clients that come back with an older id get `reset` (the feed stopped watching meanwhile). */
  clear(): void {
    this.events.length = 0;
    // Skip a number: every id given out so far is now below the horizon.
    this.seq += 1;
    this.horizon = this.seq;
  }

  /**
   * What a client that last saw `lastEventId` missed: the events after it,
   * or 'reset' when some of them are gone or the id is not one of this run's.
   * No id (a first connection): nothing to replay.
   */
  since(lastEventId: string | undefined): FeedEvent[] | 'reset' {
    if (lastEventId === undefined || lastEventId === '') return [];
    const m = /^([0-9a-z]{1,16})\.(\d{1,15})$/.exec(lastEventId);
    if (!m || m[1] !== this.run) return 'reset';
    const seen = Number(m[2]);
    if (seen > this.seq || seen < this.horizon) return 'reset';
    return this.events.filter((e) => e.seq > seen);
  }

  /** A `reset` event carrying the current id, so the client resumes from here after reloading. */
  resetEvent(): FeedEvent {
    return { id: `${this.run}.${this.seq}`, seq: this.seq, topic: 'reset', data: {} };
  }
}
