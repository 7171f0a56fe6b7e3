/**
 * Simulated agents for tests and benchmarks: many AgentService streams from
 * one process, speaking the real protocol through the shared grpc-js glue
 * (Hello, heartbeats, JobAccepted/JobResult), spread over a few channels.
 * They succeed at every job at once, unless `onJob` says otherwise.
 */
import type * as grpc from '@grpc/grpc-js';
import {
  create,
  createAgentServiceClient,
  AgentMessageSchema,
  JobResultSchema,
  Outcome,
  PROTOCOL_VERSION,
  type AgentServiceClient,
  type ControllerMessage,
  type ControllerStream,
  type JobRequest,
  type JobResult,
  type MessageInitShape,
  MOVE_REFUSALS,
} from '@smgr/shared';

export interface SimAgentsOptions {
  address: string;
  /**
   * Several controllers: host i starts at addresses[i % n] and, when its
   * stream fails or a controller refuses it with DRAINING/REBALANCE/NOT_ACTIVE,
   * moves to the next one (each agent then has a connection of its own).
   */
  addresses?: readonly string[];
  /** One for all, or one per host (mTLS: each simulated agent its own certificate, and its own connection). */
  credentials: grpc.ChannelCredentials | ((hostId: string) => grpc.ChannelCredentials);
  hostIds: readonly string[];
  /** Services each host reports in its Hello; default one service named after the host (`svc-<hostId>`). */
  services?: (hostId: string) => string[];
  /** Streams per channel (HTTP/2 connection); default 100. */
  agentsPerChannel?: number;
  /** Reconnect after a stream ends, with full-jitter backoff like the real agent; default true. */
  reconnect?: boolean;
  /** Backoff ceiling in ms; default 30 000 (agent.reconnect_max_delay's default). */
  reconnectMaxDelayMs?: number;
  /** Answers a job; default: succeeded at once. */
  onJob?: (hostId: string, req: JobRequest) => Promise<MessageInitShape<typeof JobResultSchema>> | MessageInitShape<typeof JobResultSchema>;
  /** Extra channel options (tests: 'grpc.ssl_target_name_override'). */
  channelOptions?: grpc.ChannelOptions;
}

/** Counters a benchmark reports. */
export interface SimStats {
  connected: number;
  welcomes: number;
  refusals: Record<string, number>;
  streamErrors: number;
  jobs: number;
  results: number;
}

class SimAgent {
  call: ControllerStream | null = null;
  /** Own connection (per-host credentials or several addresses). */
  client: AgentServiceClient | null = null;
  addressIndex = 0;
  /** The controller that welcomed it last. */
  controllerId = '';
  /** A refusal asked it to move: the next connect goes at once, to the next address. */
  move = false;
  welcomed = false;
  failures = 0;
  heartbeatEveryMs = 5_000;
  nextHeartbeat = 0;
  timer: NodeJS.Timeout | null = null;
  constructor(
    readonly hostId: string,
    readonly channel: number,
  ) {}
}

export class SimAgents {
  readonly stats: SimStats = { connected: 0, welcomes: 0, refusals: {}, streamErrors: 0, jobs: 0, results: 0 };
  /** Last refusal per host, for tests. */
  readonly lastRefusal = new Map<string, { code: string; message: string }>();
  private readonly clients: AgentServiceClient[] = [];
  private readonly agents: SimAgent[];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: SimAgentsOptions) {
    const per = opts.agentsPerChannel ?? 100;
    this.agents = opts.hostIds.map((h, i) => new SimAgent(h, Math.floor(i / per)));
    for (const [i, a] of this.agents.entries()) a.addressIndex = i;
    const channels = this.ownConnections() ? 0 : Math.ceil(opts.hostIds.length / per);
    for (let c = 0; c < channels; c++) {
      // A local subchannel pool gives each client its own HTTP/2 connection instead of one shared by all.
      this.clients.push(
        createAgentServiceClient(opts.address, opts.credentials as grpc.ChannelCredentials, { 'grpc.use_local_subchannel_pool': 1, ...opts.channelOptions }),
      );
    }
  }

  /** Opens every stream at once (the herd); each then heartbeats at the interval its Welcome asks for. */
  start(): void {
    for (const a of this.agents) this.connect(a);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), 250);
  }

  /** How many welcomed agents each controller holds now, by controller id. */
  byController(): Map<string, number> {
    const out = new Map<string, number>();
    for (const a of this.agents) if (a.welcomed) out.set(a.controllerId, (out.get(a.controllerId) ?? 0) + 1);
    return out;
  }

  private ownConnections(): boolean {
    return this.opts.addresses !== undefined || typeof this.opts.credentials === 'function';
  }

  /** Streams welcomed and still open. */
  connectedCount(): number {
    return this.stats.connected;
  }

  /**
   * Writes a message on a welcomed host's stream as that agent (tests: what a
   * hostile agent may send, such as an event for a service it claims).
   * Returns false when the host has no open stream.
   */
  send(hostId: string, msg: MessageInitShape<typeof AgentMessageSchema>['msg']): boolean {
    const a = this.agents.find((x) => x.hostId === hostId);
    if (!a?.call || !a.welcomed) return false;
    write(a.call, msg);
    return true;
  }

  /** Ends every stream and closes the channels. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const a of this.agents) {
      if (a.timer) clearTimeout(a.timer);
      a.call?.cancel();
      a.call = null;
      a.client?.close();
    }
    for (const c of this.clients) c.close();
  }

  private connect(a: SimAgent): void {
    if (this.stopped) return;
    let client = this.clients[a.channel];
    if (this.ownConnections()) {
      a.client?.close();
      const addresses = this.opts.addresses ?? [this.opts.address];
      const creds = typeof this.opts.credentials === 'function' ? this.opts.credentials(a.hostId) : this.opts.credentials;
      a.client = createAgentServiceClient(addresses[a.addressIndex % addresses.length]!, creds, {
        'grpc.use_local_subchannel_pool': 1,
        ...this.opts.channelOptions,
      });
      client = a.client;
    }
    const call = client!.connect();
    a.call = call;
    a.welcomed = false;
    call.on('data', (m: ControllerMessage) => this.onMessage(a, call, m));
    const down = (err?: grpc.ServiceError) => {
      if (a.call !== call) return;
      a.call = null;
      if (a.welcomed) this.stats.connected--;
      if (err && err.code !== 1 /* CANCELLED */ && a.welcomed) this.stats.streamErrors++;
      a.welcomed = false;
      this.retry(a);
    };
    call.on('error', (err: grpc.ServiceError) => down(err));
    call.on('end', () => down());
    const services = this.opts.services?.(a.hostId) ?? [`svc-${a.hostId}`];
    call.write(
      create(AgentMessageSchema, {
        msg: {
          case: 'hello',
          value: {
            hostId: a.hostId,
            agentVersion: 'sim',
            protocolVersion: PROTOCOL_VERSION,
            services: services.map((name) => ({ name, restartStrategy: 'process' })),
          },
        },
      }),
    );
  }

  private retry(a: SimAgent): void {
    if (this.stopped || this.opts.reconnect === false) return;
    if (this.opts.addresses) a.addressIndex++;
    if (a.move) {
      // As the real agent: a refusal that says "go elsewhere" moves at once, with a little jitter.
      a.move = false;
      a.timer = setTimeout(() => this.connect(a), Math.floor(Math.random() * 500));
      return;
    }
    a.failures++;
    const ceiling = Math.min(this.opts.reconnectMaxDelayMs ?? 30_000, 500 * 2 ** Math.min(a.failures, 30));
    a.timer = setTimeout(() => this.connect(a), Math.floor(Math.random() * ceiling));
  }

  private onMessage(a: SimAgent, call: ControllerStream, m: ControllerMessage): void {
    switch (m.msg.case) {
      case 'welcome':
        a.welcomed = true;
        a.failures = 0;
        a.controllerId = m.msg.value.controllerId;
        a.heartbeatEveryMs = m.msg.value.heartbeatIntervalMs || 5_000;
        // Spread over the interval, as agents that connected at different times would be.
        a.nextHeartbeat = Date.now() + Math.random() * a.heartbeatEveryMs;
        this.stats.welcomes++;
        this.stats.connected++;
        return;
      case 'refusal':
        this.stats.refusals[m.msg.value.code] = (this.stats.refusals[m.msg.value.code] ?? 0) + 1;
        this.lastRefusal.set(a.hostId, { code: m.msg.value.code, message: m.msg.value.message });
        if (MOVE_REFUSALS.has(m.msg.value.code)) a.move = true;
        return;
      case 'jobRequest': {
        const req = m.msg.value;
        this.stats.jobs++;
        write(call, { case: 'jobAccepted', value: { jobId: req.jobId } });
        void Promise.resolve(this.opts.onJob ? this.opts.onJob(a.hostId, req) : succeeded(req)).then((r) => {
          this.stats.results++;
          write(call, { case: 'jobResult', value: create(JobResultSchema, { ...r, jobId: req.jobId }) as JobResult });
        });
        return;
      }
      default:
        return;
    }
  }

  private heartbeat(): void {
    const now = Date.now();
    for (const a of this.agents) {
      if (!a.welcomed || !a.call || now < a.nextHeartbeat) continue;
      a.nextHeartbeat = now + a.heartbeatEveryMs;
      write(a.call, { case: 'heartbeat', value: { sentAtMs: BigInt(now) } });
    }
  }
}

/** A JobResult for `req` that reports success. */
export function succeeded(req: JobRequest): MessageInitShape<typeof JobResultSchema> {
  return {
    jobId: req.jobId,
    outcome: Outcome.SUCCEEDED,
    service: req.service,
    operation: req.operation,
    strategy: 'sim',
    message: 'restarted by the simulator',
    startedAtMs: BigInt(Date.now()),
    durationMs: 0n,
    attempts: 1,
  };
}

function write(call: ControllerStream, msg: MessageInitShape<typeof AgentMessageSchema>['msg']): void {
  try {
    call.write(create(AgentMessageSchema, { msg }));
  } catch {
    // The stream ended meanwhile; its 'error'/'end' handler reconnects.
  }
}
