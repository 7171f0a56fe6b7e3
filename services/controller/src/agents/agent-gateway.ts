import * as grpc from '@grpc/grpc-js';
import {
  agentServiceDefinition,
  serverChannelOptions,
  create,
  ControllerMessageSchema,
  JobRequestSchema,
  UnavailableError,
  type AgentEvent,
  type AgentMessage,
  type AgentStream,
  type Hello,
  type JobRequest,
  type JobResult,
  type Logger,
  type Operation,
} from '@smgr/shared';
import type { AgentInfo } from './agent-info.js';
import type { AgentRegistry } from './agent-registry.js';
import type { AgentStore } from '../db/agent-store.js';

const HOST_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const HELLO_TIMEOUT_MS = 10_000;
const MAX_SERVICES = 10_000;
const MAX_NAME = 255;

export interface AgentGatewayOptions {
  controllerId: string;
  heartbeatIntervalMs: number;
  agentTtlMs: number;
  credentials: grpc.ServerCredentials;
  /** With mTLS the peer certificate's CN must equal the Hello's host id. */
  requirePeerIdentity: boolean;
  registry: AgentRegistry;
  store: AgentStore;
  log: Logger;
  /**
   * Handles an event an agent reported (watch failure, autonomous repair from
   * its journal). The event is acknowledged only after this resolves, so the
   * agent redelivers it otherwise; the handler must be idempotent by event_id.
   */
  onAgentEvent?: (hostId: string, event: AgentEvent) => Promise<void>;
}

export interface JobSpec {
  jobId: string;
  operation: Operation;
  service: string;
  version?: string;
  deadlineMs?: number;
}

/** One connected agent's stream. */
class AgentSession {
  lastSeen = Date.now();
  closed = false;
  constructor(
    readonly hostId: string,
    readonly call: AgentStream,
  ) {}

  send(msg: Parameters<AgentStream['write']>[0]): boolean {
    if (this.closed) return false;
    try {
      this.call.write(msg);
      return true;
    } catch {
      return false;
    }
  }
}

interface PendingJob {
  hostId: string;
  request: JobRequest;
  promise: Promise<JobResult>;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The gRPC side of the controller: accepts agents' streams, keeps the session
 * table, and delivers jobs. A job waits for its host to be connected and is
 * re-sent when the host reconnects; agents answer a re-sent job id from their
 * own record instead of running it twice.
 */
export class AgentGateway {
  private readonly server = new grpc.Server(serverChannelOptions);
  private readonly sessions = new Map<string, AgentSession>();
  private readonly pending = new Map<string, PendingJob>();
  private readonly dirtyHeartbeats = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: AgentGatewayOptions) {
    this.log = opts.log.child({ component: 'agent-gateway' });
    this.server.addService(agentServiceDefinition, { connect: (call: AgentStream) => this.onConnect(call) });
  }

  /** Binds `host:port` (port 0 picks one) and returns the bound port. */
  async start(listen: string): Promise<number> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(listen, this.opts.credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.timers.push(setInterval(() => this.sweep(), Math.max(250, Math.floor(this.opts.agentTtlMs / 3))).unref());
    this.log.info({ listen, port }, 'agent gateway listening');
    return port;
  }

  isConnected(hostId: string): boolean {
    return this.sessions.has(hostId);
  }

  connectedCount(): number {
    return this.sessions.size;
  }

  /**
   * Sends a job to a host and resolves with its result. Rejects with a
   * retryable UnavailableError when no result came within `timeoutMs`.
   */
  runJob(hostId: string, spec: JobSpec, timeoutMs: number): Promise<JobResult> {
    const existing = this.pending.get(spec.jobId);
    if (existing) return existing.promise;
    const request = create(JobRequestSchema, {
      jobId: spec.jobId,
      operation: spec.operation,
      service: spec.service,
      version: spec.version ?? '',
      deadlineMs: spec.deadlineMs ?? 0,
    });
    let resolve!: (r: JobResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<JobResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(() => {
      this.pending.delete(spec.jobId);
      reject(
        new UnavailableError('JOB_TIMEOUT', `no result from ${hostId} within ${Math.round(timeoutMs / 1000)} s`, {
          context: { hostId, jobId: spec.jobId, connected: this.sessions.has(hostId) },
        }),
      );
    }, timeoutMs);
    this.pending.set(spec.jobId, { hostId, request, promise, resolve, reject, timer });
    const session = this.sessions.get(hostId);
    if (session) this.sendJob(session, request);
    else this.log.info({ hostId, jobId: spec.jobId }, 'job waiting for its host to connect');
    return promise;
  }

  /** Stops accepting agents and ends every stream. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.flushHeartbeats().catch(() => undefined);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new UnavailableError('CONTROLLER_STOPPING', 'controller is stopping'));
    }
    this.pending.clear();
    for (const s of this.sessions.values()) {
      s.closed = true;
      s.call.end();
    }
    this.sessions.clear();
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

  private sendJob(session: AgentSession, request: JobRequest): void {
    if (session.send(create(ControllerMessageSchema, { msg: { case: 'jobRequest', value: request } }))) {
      this.log.info(
        { hostId: session.hostId, jobId: request.jobId, service: request.service, operation: request.operation },
        'job sent',
      );
    }
  }

  private onConnect(call: AgentStream): void {
    const peer = call.getPeer();
    let session: AgentSession | null = null;
    const helloTimer = setTimeout(() => this.refuse(call, 'HELLO_TIMEOUT', 'no Hello within 10 s', { peer }), HELLO_TIMEOUT_MS);

    call.on('data', (msg: AgentMessage) => {
      try {
        if (!session) {
          clearTimeout(helloTimer);
          session = this.onHello(call, msg, peer);
          return;
        }
        this.onMessage(session, msg);
      } catch (err) {
        this.log.warn({ err, peer, hostId: session?.hostId }, 'agent message handling failed');
      }
    });
    const finish = (why: string, err?: unknown) => {
      clearTimeout(helloTimer);
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
    if (msg.msg.case !== 'hello') {
      this.refuse(call, 'HELLO_REQUIRED', 'the first message must be Hello', { peer, got: msg.msg.case });
      return null;
    }
    const hello = msg.msg.value;
    const problem = validateHello(hello);
    if (problem) {
      this.refuse(call, 'BAD_HELLO', problem, { peer });
      return null;
    }
    if (this.opts.requirePeerIdentity) {
      const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
      if (cn !== hello.hostId) {
        this.refuse(call, 'IDENTITY_MISMATCH', `certificate is for ${JSON.stringify(cn ?? null)}, not ${hello.hostId}`, {
          peer,
        });
        return null;
      }
    }
    const previous = this.sessions.get(hello.hostId);
    if (previous) {
      previous.closed = true;
      previous.send(
        create(ControllerMessageSchema, {
          msg: { case: 'refusal', value: { code: 'REPLACED', message: 'replaced by a newer connection from the same host' } },
        }),
      );
      previous.call.end();
      this.log.warn({ hostId: hello.hostId, peer }, 'agent reconnected; older stream replaced');
    }
    const session = new AgentSession(hello.hostId, call);
    this.sessions.set(hello.hostId, session);
    const info: AgentInfo = {
      hostId: hello.hostId,
      labels: { ...hello.labels },
      agentVersion: hello.agentVersion,
      services: hello.services.map((s) => ({
        name: s.name,
        restartStrategy: s.restartStrategy,
        startupRank: s.startupRank,
        watched: s.watched,
      })),
      connected: true,
      lastSeen: Date.now(),
    };
    this.opts.registry.put(info);
    this.opts.store
      .upsertConnected(info, this.opts.controllerId)
      .catch((err) => this.log.error({ err, hostId: hello.hostId }, 'could not persist agent registration'));
    session.send(
      create(ControllerMessageSchema, {
        msg: {
          case: 'welcome',
          value: { controllerId: this.opts.controllerId, heartbeatIntervalMs: this.opts.heartbeatIntervalMs },
        },
      }),
    );
    this.log.info(
      { hostId: hello.hostId, peer, agentVersion: hello.agentVersion, services: info.services.length },
      'agent connected',
    );
    for (const p of this.pending.values()) if (p.hostId === hello.hostId) this.sendJob(session, p.request);
    return session;
  }

  private onMessage(session: AgentSession, msg: AgentMessage): void {
    session.lastSeen = Date.now();
    switch (msg.msg.case) {
      case 'heartbeat':
        this.dirtyHeartbeats.add(session.hostId);
        session.send(
          create(ControllerMessageSchema, { msg: { case: 'heartbeatAck', value: { sentAtMs: msg.msg.value.sentAtMs } } }),
        );
        return;
      case 'jobAccepted':
        this.log.debug({ hostId: session.hostId, jobId: msg.msg.value.jobId }, 'job accepted by agent');
        return;
      case 'jobResult': {
        const result = msg.msg.value;
        const p = this.pending.get(result.jobId);
        if (!p || p.hostId !== session.hostId) {
          this.log.warn({ hostId: session.hostId, jobId: result.jobId }, 'result for a job not pending on this host; ignored');
          return;
        }
        clearTimeout(p.timer);
        this.pending.delete(result.jobId);
        p.resolve(result);
        return;
      }
      case 'event': {
        const event = msg.msg.value;
        this.log.info({ hostId: session.hostId, eventId: event.eventId, kind: event.kind, service: event.service }, 'agent event');
        const handled = this.opts.onAgentEvent ? this.opts.onAgentEvent(session.hostId, event) : Promise.resolve();
        handled.then(
          () => session.send(create(ControllerMessageSchema, { msg: { case: 'eventAck', value: { eventId: event.eventId } } })),
          (err) => this.log.error({ err, hostId: session.hostId, eventId: event.eventId }, 'agent event not recorded; agent will resend'),
        );
        return;
      }
      case 'hello':
        this.log.warn({ hostId: session.hostId }, 'second Hello on one stream ignored');
        return;
      default:
        this.log.warn({ hostId: session.hostId }, 'empty or unknown agent message ignored');
    }
  }

  private onDisconnect(session: AgentSession, why: string, err?: unknown): void {
    if (this.sessions.get(session.hostId) === session) {
      this.sessions.delete(session.hostId);
      this.opts.registry.setConnected(session.hostId, false, Date.now());
      this.opts.store
        .markDisconnected(session.hostId, this.opts.controllerId)
        .catch((e) => this.log.error({ err: e, hostId: session.hostId }, 'could not persist agent disconnect'));
    }
    if (!this.stopped) this.log.info({ hostId: session.hostId, why, err }, 'agent disconnected');
  }

  private refuse(call: AgentStream, code: string, message: string, ctx: Record<string, unknown>): void {
    this.log.warn({ ...ctx, code, reason: message }, 'agent refused');
    try {
      call.write(create(ControllerMessageSchema, { msg: { case: 'refusal', value: { code, message } } }));
      call.end();
    } catch {
      // the stream is already gone
    }
  }

  /** Drops streams that missed heartbeats past the TTL, and flushes last-seen times. */
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
    this.flushHeartbeats().catch((err) => this.log.warn({ err }, 'could not persist heartbeats'));
  }

  private async flushHeartbeats(): Promise<void> {
    if (this.dirtyHeartbeats.size === 0) return;
    const ids = [...this.dirtyHeartbeats];
    this.dirtyHeartbeats.clear();
    await this.opts.store.touch(ids, new Date());
  }
}

/** Returns why a Hello is unacceptable, or null. */
export function validateHello(h: Hello): string | null {
  if (!HOST_ID_RE.test(h.hostId)) return `host_id ${JSON.stringify(h.hostId.slice(0, 300))} is not a valid host name`;
  if (h.services.length > MAX_SERVICES) return `too many services (${h.services.length} > ${MAX_SERVICES})`;
  for (const s of h.services) {
    if (s.name.length === 0 || s.name.length > MAX_NAME) return 'a service name is empty or longer than 255 characters';
  }
  for (const [k, v] of Object.entries(h.labels)) {
    if (k.length === 0 || k.length > MAX_NAME || v.length > MAX_NAME) return `label ${JSON.stringify(k.slice(0, 50))} is invalid`;
  }
  if (h.agentVersion.length > 64) return 'agent_version is longer than 64 characters';
  return null;
}
