import type { ServerResponse } from 'node:http';
import type { RowDataPacket } from 'mysql2/promise';
import type { Logger } from '@smgr/shared';
import type { DbPool } from '../../db/pool.js';
import type { AgentInfo } from '../../agents/agent-info.js';
import { roleAllows, type Role } from '../auth/roles.js';
import { redactForViewer } from '../routes/redact.js';
import { FeedBuffer, type FeedEvent, type FeedTopic } from './feed-buffer.js';
import { eventView } from '../../history/event-store.js';

/** Bounds of the live feed; every one has a default. */
export interface ConsoleFeedOptions {
  pool: DbPool;
  hosts: { all(): AgentInfo[] };
  log: Logger;
  /** How often MySQL and the agent registry are read while someone watches (ms). */
  intervalMs?: number;
  /** Events kept for clients that reconnect with Last-Event-ID. */
  bufferEvents?: number;
  /** Streams open at once; one more gets 503. */
  maxClients?: number;
  /** Bytes queued to one client that does not read; past them it is disconnected (it reconnects and resumes). */
  clientBufferBytes?: number;
  /** A comment line this often keeps proxies from closing an idle stream (ms). */
  keepAliveMs?: number;
  /** How long the loop keeps reading after the last stream closed, so a reconnecting browser resumes (ms). */
  lingerMs?: number;
  /** How often each stream's session or token is checked again (ms): a revoked token loses its stream. */
  recheckMs?: number;
  now?: () => number;
}

/** One open stream. */
interface FeedClient {
  raw: ServerResponse;
  role: Role;
  /** Whether the principal behind the stream may still read; false ends the stream. */
  stillValid: () => Promise<boolean>;
  lastCheck: number;
}

const EVENT_LIMIT = 200;

/**
 * The console's live feed over Server-Sent Events (GET /ui/events). While at
 * least one browser watches, one loop reads what the pages show (alarms, new
 * history rows, hosts and open breakers, rollouts, operations) and publishes
 * a numbered event for each change into a bounded ring buffer; every stream
 * gets the same events. A browser that reconnects sends Last-Event-ID and is
 * replayed what it missed; if that is older than the buffer (or from another
 * controller run) it gets `reset` and reloads every page's data.
 *
 * `alarms` carries the processes in alarm; `history` the new smgr_events rows
 * (argv and output tails only to operators); `hosts`, `rollouts` and
 * `operations` say what changed, and the page reads it from the API.
 */
export class ConsoleFeed {
  private readonly buffer: FeedBuffer;
  private readonly clients = new Set<FeedClient>();
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly maxClients: number;
  private readonly clientBufferBytes: number;
  private readonly keepAliveMs: number;
  private readonly recheckMs: number;
  private readonly lingerMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  /** What the last read saw, per topic; null: not read yet (the first read publishes nothing but alarms). */
  private seen: Partial<Record<FeedTopic, string>> = {};
  private lastEventRowId: number | null = null;

  constructor(private readonly opts: ConsoleFeedOptions) {
    this.log = opts.log.child({ component: 'console-feed' });
    this.intervalMs = opts.intervalMs ?? 500;
    this.maxClients = opts.maxClients ?? 64;
    this.clientBufferBytes = opts.clientBufferBytes ?? 1024 * 1024;
    this.keepAliveMs = opts.keepAliveMs ?? 15_000;
    this.recheckMs = opts.recheckMs ?? 30_000;
    this.lingerMs = opts.lingerMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.buffer = new FeedBuffer(opts.bufferEvents ?? 1000, this.now());
  }

  /** Streams open now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Whether one more stream may open. */
  hasRoom(): boolean {
    return !this.stopped && this.clients.size < this.maxClients;
  }

  /**
   * Takes over a response as an event stream: replays what `lastEventId`
   * missed (or sends `reset`), then every new event until the client goes,
   * reads too slowly, or its principal stops being valid. When nobody was
   * watching, the current state is read first, so every change after the
   * headers reach the browser is published.
   */
  async attach(raw: ServerResponse, role: Role, lastEventId: string | undefined, stillValid: () => Promise<boolean>): Promise<void> {
    if (!this.running) await this.read();
    const client: FeedClient = { raw, role, stillValid, lastCheck: this.now() };
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Reverse proxies (nginx) would otherwise hold the events back.
      'x-accel-buffering': 'no',
    });
    this.clients.add(client);
    raw.on('close', () => this.clients.delete(client));
    raw.write('retry: 2000\n\n');
    const missed = this.buffer.since(lastEventId);
    if (missed === 'reset') this.send(client, this.buffer.resetEvent());
    else for (const e of missed) this.send(client, e);
    this.ensureRunning();
  }

  /** Ends every stream and the loop. Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.timer = null;
    this.keepAlive = null;
    for (const c of this.clients) c.raw.destroy();
    this.clients.clear();
  }

  private ensureRunning(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.keepAlive ??= setInterval(() => this.ping(), this.keepAliveMs);
    this.keepAlive.unref();
    let idleSince: number | null = null;
    const loop = async () => {
      if (this.stopped) return;
      if (this.clients.size === 0) {
        idleSince ??= this.now();
        if (this.now() - idleSince >= this.lingerMs) {
          // Nobody came back: stop reading. What changes meanwhile is in no event, so older ids get `reset`.
          this.running = false;
          this.seen = {};
          this.lastEventRowId = null;
          this.buffer.clear();
          return;
        }
      } else {
        idleSince = null;
      }
      try {
        await this.read();
      } catch (err) {
        this.log.warn({ err }, 'console feed read failed; retrying');
      }
      await this.recheckClients();
      this.timer = setTimeout(() => void loop(), this.intervalMs);
      this.timer.unref();
    };
    this.timer = setTimeout(() => void loop(), this.intervalMs);
    this.timer.unref();
  }

  /** One pass over what the pages show; publishes a change per topic. */
  private async read(): Promise<void> {
    const pool = this.opts.pool;
    const [alarmRows] = await pool.query<RowDataPacket[]>(
      `SELECT p.process_id, p.process_name, s.alarma, s.notes, i.id AS incident_id, i.state AS incident_state, i.host_id, i.attempts, i.last_message
         FROM STATUS_PROCESS s JOIN PROCESE p ON p.process_id = s.process_id
         LEFT JOIN smgr_incidents i ON i.open_key = p.process_id
        WHERE s.alarma = 1 ORDER BY p.process_id LIMIT 1000`,
    );
    const alarms = alarmRows.map((r) => ({
      processId: Number(r.process_id),
      name: String(r.process_name ?? ''),
      notes: (r.notes as string | null) ?? null,
      incident:
        r.incident_id === null
          ? null
          : {
              id: Number(r.incident_id),
              state: String(r.incident_state),
              hostId: (r.host_id as string | null) ?? null,
              attempts: Number(r.attempts),
              lastMessage: (r.last_message as string | null) ?? null,
            },
    }));
    this.publishIfChanged('alarms', { alarms }, {});

    if (this.lastEventRowId === null) {
      const [[max]] = await pool.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS id FROM smgr_events');
      this.lastEventRowId = Number(max?.id ?? 0);
    } else {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM smgr_events WHERE id > ? ORDER BY id LIMIT ?', [this.lastEventRowId, EVENT_LIMIT]);
      if (rows.length > 0) {
        this.lastEventRowId = Number(rows[rows.length - 1]!.id);
        const events = rows.map(eventView);
        this.buffer.push('history', { events }, { events: events.map((e) => ({ ...e, detail: redactForViewer(e.detail) })) });
        this.broadcast();
      }
    }

    const now = new Date(this.now());
    const [breakers] = await pool.query<RowDataPacket[]>(
      'SELECT process_id, host_id, consecutive_failures, open_until FROM smgr_breakers WHERE open_until > ? ORDER BY process_id, host_id',
      [now],
    );
    const hosts = this.opts.hosts
      .all()
      .map((a) => [a.hostId, a.connected, a.agentVersion, a.labels, a.services.map((s) => s.name)])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    this.publishIfChanged('hosts', {}, { signature: JSON.stringify([hosts, breakers.map((b) => [b.process_id, b.host_id, b.consecutive_failures])]) });

    const [rollouts] = await pool.query<RowDataPacket[]>(
      `SELECT r.id, r.state, r.current_batch, r.updated_at, MAX(h.updated_at) AS host_updated, GROUP_CONCAT(h.state ORDER BY h.position) AS states
         FROM (SELECT * FROM smgr_rollouts ORDER BY id DESC LIMIT 20) r LEFT JOIN smgr_rollout_hosts h ON h.rollout_id = r.id
        GROUP BY r.id ORDER BY r.id DESC`,
    );
    this.publishIfChanged('rollouts', { ids: rollouts.map((r) => Number(r.id)) }, { signature: JSON.stringify(rollouts) });

    const [operations] = await pool.query<RowDataPacket[]>(
      `SELECT o.id, o.state, GROUP_CONCAT(h.state ORDER BY h.position) AS states
         FROM (SELECT id, state, created_at FROM smgr_operations ORDER BY created_at DESC LIMIT 20) o
         LEFT JOIN smgr_operation_hosts h ON h.operation_id = o.id GROUP BY o.id, o.state`,
    );
    this.publishIfChanged('operations', {}, { signature: JSON.stringify(operations.sort((a, b) => String(a.id).localeCompare(String(b.id)))) });
  }

  /**
   * Publishes `data` on `topic` when what the topic shows (its signature,
   * default the data) differs from the last read. The first read only
   * records it: pages load their data themselves once the stream is open.
   */
  private publishIfChanged(topic: FeedTopic, data: unknown, o: { signature?: string }): void {
    const sig = o.signature ?? JSON.stringify(data);
    const before = this.seen[topic];
    this.seen[topic] = sig;
    if (before === undefined || before === sig) return;
    this.buffer.push(topic, data);
    this.broadcast();
  }

  private broadcast(): void {
    const e = this.buffer.latest();
    if (!e) return;
    for (const c of this.clients) this.send(c, e);
  }

  private send(c: FeedClient, e: FeedEvent): void {
    if (c.raw.destroyed) return;
    // A client that does not read is cut off instead of growing our memory; EventSource reconnects with Last-Event-ID.
    if (c.raw.writableLength > this.clientBufferBytes) {
      this.log.info({ queuedBytes: c.raw.writableLength }, 'console stream too slow; disconnected (it resumes from its last event)');
      c.raw.destroy();
      this.clients.delete(c);
      return;
    }
    const data = !roleAllows(c.role, 'operator') && e.viewerData !== undefined ? e.viewerData : e.data;
    c.raw.write(`id: ${e.id}\nevent: ${e.topic}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private ping(): void {
    for (const c of this.clients) if (!c.raw.destroyed) c.raw.write(': keep-alive\n\n');
  }

  private async recheckClients(): Promise<void> {
    const now = this.now();
    for (const c of this.clients) {
      if (now - c.lastCheck < this.recheckMs) continue;
      c.lastCheck = now;
      const ok = await c.stillValid().catch(() => true);
      if (!ok) {
        c.raw.destroy();
        this.clients.delete(c);
      }
    }
  }
}
