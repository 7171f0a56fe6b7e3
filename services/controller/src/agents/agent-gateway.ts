import * as grpc from '@grpc/grpc-js';
import {
  agentServiceServerDefinition,
  undecodableFrameReason,
  watchTlsHandshakeFailures,
  serverChannelOptions,
  create,
  ControllerMessageSchema,
  type AgentEvent,
  type AgentMessage,
  type AgentStream,
  type Hello,
  type Logger,
  RefusalCode,
} from '@smgr/shared';
import { agentInfoFromHello, type AgentInfo } from './agent-info.js';
import { helloRefusal } from './hello-admission.js';
import type { AgentRegistry } from './agent-registry.js';
import type { AgentStore } from './agent-store.js';
import type { ControllerMetrics } from '../metrics/controller-metrics.js';
import { AgentPresence } from './agent-presence.js';
import { AgentSession } from './agent-session.js';
import { AgentJobs, type SessionTable } from './agent-jobs.js';
import { AgentMessages } from './agent-messages.js';
import { ServiceUsageStore } from '../usage/service-usage-store.js';

export { validateHello } from './validate-agent-input.js';
export type { JobSpec } from './agent-jobs.js';

const HELLO_TIMEOUT_MS = 10_000;
/** A host asked to move is not asked again for this long (its first choice may be down). */
const MOVE_COOLDOWN_MS = 30_000;

export interface AgentGatewayOptions {
  controllerId: string;
  heartbeatIntervalMs: number;
  agentTtlMs: number;
  credentials: grpc.ServerCredentials;
  /** With mTLS the peer certificate's CN must equal the Hello's host id. */
  requirePeerIdentity: boolean;
  /**
   * Why an agent's certificate (DER) is refused — wrong usage, wildcard,
   * revoked, not from the pinned CA — or null. Checked at Hello and again by
   * recheckCertificates() after the CRL or the TLS files are reloaded.
   */
  checkCertificate?: (der: Buffer | undefined) => string | null;
  registry: AgentRegistry;
  store: AgentStore;
  log: Logger;
  /**
   * Handles an event an agent reported (watch failure, autonomous repair from
   * its journal). The event is acknowledged only after this resolves, so the
   * agent redelivers it otherwise; the handler must be idempotent by event_id.
   */
  onAgentEvent?: (hostId: string, event: AgentEvent) => Promise<void>;
  /** Decides the host→service claims a Hello brings (HostClaims). */
  claims: { declared(info: AgentInfo): void };
  /** Refusals and TLS failures are counted here when given. */
  metrics?: ControllerMetrics;
  /**
   * Events one host may send: a burst of `burst`, then `perSecond`; the
   * excess is not acknowledged (the agent sends it again later) and is
   * counted and logged. Default 100 and 10.
   */
  eventRate?: { burst: number; perSecond: number };
  /**
   * Told when a host's stream opens here (after Hello) and when it closes:
   * the fleet's host→controller routes (fleet/host-routes.ts).
   */
  onSession?: (hostId: string, up: boolean) => void;
}

/**
 * The per-stream protocol of the controller: accepts agents' streams (Hello,
 * identity and certificate checks, heartbeats, events, refusals), keeps the
 * session table, and drops streams that go silent. The job API on top of
 * the streams is `jobs` (agent-jobs.ts).
 */
export class AgentGateway implements SessionTable {
  /** Sends jobs on these streams and waits for their results. */
  readonly jobs: AgentJobs;
  private readonly server = new grpc.Server(serverChannelOptions);
  private readonly sessions = new Map<string, AgentSession>();
  /** The certificate each session presented, for rechecks after a CRL update. */
  private readonly certificates = new WeakMap<AgentSession, Buffer>();
  /** The newest usage report of each host connected here (issue 16). */
  readonly usage = new ServiceUsageStore();
  private readonly presence: AgentPresence;
  private timers: NodeJS.Timeout[] = [];
  private readonly log: Logger;
  private stopped = false;
  /** Hosts asked to move (REBALANCE), and when: not asked again within MOVE_COOLDOWN_MS. */
  private readonly askedToMove = new Map<string, number>();
  /** Draining (stopping): Hellos are refused with DRAINING so agents go to another controller at once. */
  private draining = false;
  /** What an agent sends on its stream after Hello. */
  private readonly messages: AgentMessages;

  constructor(private readonly opts: AgentGatewayOptions) {
    this.log = opts.log.child({ component: 'agent-gateway' });
    this.jobs = new AgentJobs(this, opts.log);
    this.presence = new AgentPresence(opts.store, opts.controllerId, opts.log);
    this.messages = new AgentMessages({
      jobs: this.jobs,
      presence: this.presence,
      usage: this.usage,
      log: this.log,
      ...(opts.onAgentEvent ? { onAgentEvent: opts.onAgentEvent } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.eventRate ? { eventRate: opts.eventRate } : {}),
    });
    this.server.addService(agentServiceServerDefinition, { connect: (call: AgentStream) => this.onConnect(call) });
  }

  /** Binds `host:port` (port 0 picks one) and returns the bound port. */
  async start(listen: string): Promise<number> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(listen, this.opts.credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.timers.push(setInterval(() => this.sweep(), Math.max(250, Math.floor(this.opts.agentTtlMs / 3))).unref());
    this.presence.start();
    const watched = watchTlsHandshakeFailures(this.server, (f) => {
      this.opts.metrics?.tlsRefusals.inc({ reason: f.reason });
      this.log.warn({ peer: f.peer, reason: f.reason, err: f.message }, 'TLS handshake refused');
    });
    // With plaintext (tls.insecure) there are no handshakes to watch.
    if (watched === 0 && this.opts.requirePeerIdentity) {
      this.log.warn('this grpc-js does not expose its listeners: refused TLS handshakes will not be logged');
    }
    this.log.info({ listen, port }, 'agent gateway listening');
    return port;
  }

  /**
   * Stopping: tells every connected agent DRAINING and lets it go (it moves
   * to its next controller address at once), and refuses new Hellos with
   * DRAINING. Jobs in flight here end as their hosts leave (see AgentJobs).
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    const n = this.dismiss([...this.sessions.values()], RefusalCode.DRAINING, 'this controller is stopping; connect to another one', 'controller draining');
    if (n > 0) this.log.info({ agents: n }, 'agents told to move: this controller is draining');
  }

  /**
   * Asks up to `n` agents to reconnect elsewhere (REBALANCE), those not on
   * their preferred address first (they came here because theirs was down);
   * with `preferredToo` false, only those. A host asked in the last
   * MOVE_COOLDOWN_MS is left alone: if it came back, its first choice is
   * still down, and asking again would only bounce it. Returns the host ids asked.
   */
  moveAgents(n: number, preferredToo = false): string[] {
    if (n <= 0 || this.draining) return [];
    const now = Date.now();
    for (const [h, at] of this.askedToMove) if (now - at >= MOVE_COOLDOWN_MS) this.askedToMove.delete(h);
    const picked: AgentSession[] = [];
    const pick = (want: (s: AgentSession) => boolean) => {
      for (const s of this.sessions.values()) {
        if (picked.length >= n) return;
        if (want(s) && !this.askedToMove.has(s.hostId) && !picked.includes(s)) picked.push(s);
      }
    };
    pick((s) => s.preferredAddress === false);
    if (preferredToo) pick(() => true);
    for (const s of picked) this.askedToMove.set(s.hostId, now);
    this.dismiss(
      picked,
      RefusalCode.REBALANCE,
      'this controller holds more than its share of agents; connect to your preferred controller',
      'asked to move (rebalance)',
    );
    return picked.map((s) => s.hostId);
  }

  /** How many agents here connected on an address that is not their first choice. */
  displacedCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.preferredAddress === false) n++;
    return n;
  }

  /** Host ids connected here. */
  hostIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** The open session of a host here, if any (AgentJobs sends on it). */
  session(hostId: string): AgentSession | undefined {
    return this.sessions.get(hostId);
  }

  private dismiss(sessions: AgentSession[], code: RefusalCode, message: string, why: string): number {
    for (const s of sessions) {
      // Sent before the session is marked closed: a closed session drops what is sent to it.
      s.send(create(ControllerMessageSchema, { msg: { case: 'refusal', value: { code, message } } }));
      s.closed = true;
      this.onDisconnect(s, why);
      s.call.end();
    }
    return sessions.length;
  }

  /**
   * Checks the certificates of connected agents again (after the CRL or the
   * TLS files were reloaded) and closes the streams of those now refused, so
   * a revoked agent is cut off at once rather than at its next reconnect
   * (where the TLS handshake refuses it). Returns the host ids dropped.
   */
  recheckCertificates(): string[] {
    const check = this.opts.checkCertificate;
    if (!check) return [];
    const dropped: string[] = [];
    for (const s of [...this.sessions.values()]) {
      const problem = check(this.certificates.get(s));
      if (!problem) continue;
      s.send(create(ControllerMessageSchema, { msg: { case: 'refusal', value: { code: RefusalCode.CERT_REFUSED, message: problem } } }));
      s.closed = true;
      this.opts.metrics?.agentRefusals.inc({ code: RefusalCode.CERT_REFUSED });
      this.log.warn({ hostId: s.hostId, reason: problem }, 'connected agent refused after a TLS reload');
      this.onDisconnect(s, 'certificate refused');
      s.call.end();
      dropped.push(s.hostId);
    }
    return dropped;
  }

  isConnected(hostId: string): boolean {
    return this.sessions.has(hostId);
  }

  connectedCount(): number {
    return this.sessions.size;
  }

  /** Stops accepting agents and ends every stream. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.jobs.handBack('CONTROLLER_STOPPING', 'controller is stopping');
    for (const s of this.sessions.values()) {
      s.closed = true;
      s.call.end();
    }
    for (const s of this.sessions.values()) this.presence.disconnected(s.hostId);
    this.sessions.clear();
    await this.presence.stop();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private onConnect(call: AgentStream): void {
    const peer = call.getPeer();
    let session: AgentSession | null = null;
    const helloTimer = setTimeout(() => this.refuse(call, RefusalCode.HELLO_TIMEOUT, 'no Hello within 10 s', { peer }), HELLO_TIMEOUT_MS);

    call.on('data', (msg: AgentMessage) => {
      try {
        const garbage = undecodableFrameReason(msg);
        if (garbage !== undefined) {
          clearTimeout(helloTimer);
          if (session) {
            session.closed = true;
            this.onDisconnect(session, 'undecodable frame');
          }
          this.refuse(call, RefusalCode.BAD_FRAME, garbage, { peer, hostId: session?.hostId });
          session = null;
          return;
        }
        if (!session) {
          clearTimeout(helloTimer);
          session = this.onHello(call, msg, peer);
          return;
        }
        this.messages.handle(session, msg);
      } catch (err) {
        this.log.warn({ err, peer, hostId: session?.hostId }, 'agent message handling failed');
      }
    });
    let ended = false;
    const finish = (why: string, err?: unknown) => {
      clearTimeout(helloTimer);
      if (ended) return;
      ended = true;
      if (!session && !refused.has(call) && !this.stopped) {
        // A stream that ends before any Hello: grpc-js cancels calls whose
        // frames exceed MAX_MESSAGE_BYTES or break the framing, before our
        // handler sees a message; this is the only trace of those.
        this.opts.metrics?.agentRefusals.inc({ code: 'ABORTED_BEFORE_HELLO' });
        this.log.warn({ peer, why, err }, 'agent stream ended before Hello');
        return;
      }
      if (!session || session.closed) return;
      session.closed = true;
      this.onDisconnect(session, why, err);
    };
    call.on('end', () => {
      finish('agent closed the stream');
      call.end();
    });
    call.on('cancelled', () => finish('stream cancelled'));
    call.on('error', (err) => finish('stream error', err));
    call.on('close', () => finish('stream closed'));
  }

  private onHello(call: AgentStream, msg: AgentMessage, peer: string): AgentSession | null {
    const certificate = call.getAuthContext().sslPeerCertificate;
    const refusal = helloRefusal(msg, {
      draining: this.draining,
      requirePeerIdentity: this.opts.requirePeerIdentity,
      certificate,
      ...(this.opts.checkCertificate ? { checkCertificate: this.opts.checkCertificate } : {}),
    });
    if (refusal) {
      this.refuse(call, refusal.code, refusal.message, { peer, ...refusal.context });
      return null;
    }
    const hello = (msg.msg as { case: 'hello'; value: Hello }).value;
    const previous = this.sessions.get(hello.hostId);
    if (previous) {
      previous.closed = true;
      previous.send(
        create(ControllerMessageSchema, {
          msg: { case: 'refusal', value: { code: RefusalCode.REPLACED, message: 'replaced by a newer connection from the same host' } },
        }),
      );
      previous.call.end();
      this.log.warn({ hostId: hello.hostId, peer }, 'agent reconnected; older stream replaced');
    }
    const session = new AgentSession(hello.hostId, call);
    // Older agents do not say; they count as where they want to be.
    session.preferredAddress = hello.preferredAddress ?? true;
    this.sessions.set(hello.hostId, session);
    if (certificate?.raw) this.certificates.set(session, certificate.raw);
    const info = agentInfoFromHello(hello, certificate?.valid_to);
    this.opts.registry.put(info);
    this.opts.claims.declared(info);
    this.presence.connected(info);
    session.send(
      create(ControllerMessageSchema, {
        msg: {
          case: 'welcome',
          value: { controllerId: this.opts.controllerId, heartbeatIntervalMs: this.opts.heartbeatIntervalMs },
        },
      }),
    );
    this.log.info({ hostId: hello.hostId, peer, agentVersion: hello.agentVersion, services: info.services.length }, 'agent connected');
    this.opts.onSession?.(hello.hostId, true);
    this.jobs.opened(session);
    return session;
  }

  private onDisconnect(session: AgentSession, why: string, err?: unknown): void {
    if (this.sessions.get(session.hostId) === session) {
      this.sessions.delete(session.hostId);
      this.opts.registry.setConnected(session.hostId, false, Date.now());
      this.presence.disconnected(session.hostId);
      this.opts.onSession?.(session.hostId, false);
      this.jobs.closed(session.hostId);
    }
    if (!this.stopped) this.log.info({ hostId: session.hostId, why, err }, 'agent disconnected');
  }

  private refuse(call: AgentStream, code: RefusalCode, message: string, ctx: Record<string, unknown>): void {
    refused.add(call);
    this.opts.metrics?.agentRefusals.inc({ code });
    // A draining controller refuses every agent that tries it: routine, not a warning.
    this.log[code === RefusalCode.DRAINING ? 'debug' : 'warn']({ ...ctx, code, reason: message }, 'agent refused');
    try {
      call.write(create(ControllerMessageSchema, { msg: { case: 'refusal', value: { code, message } } }));
      call.end();
    } catch {
      // the stream is already gone
    }
  }

  /** Drops streams that missed heartbeats past the TTL. */
  private sweep(): void {
    const deadline = Date.now() - this.opts.agentTtlMs;
    for (const s of this.sessions.values()) {
      if (s.lastSeen < deadline) {
        this.log.warn({ hostId: s.hostId, lastSeen: new Date(s.lastSeen).toISOString() }, 'agent missed heartbeats; marked down');
        s.closed = true;
        this.onDisconnect(s, 'heartbeat ttl expired');
        s.call.destroy(new Error('heartbeat ttl expired'));
      }
    }
  }
}

/** Streams this gateway refused itself (their end is expected, not worth a second log line). */
const refused = new WeakSet<AgentStream>();
