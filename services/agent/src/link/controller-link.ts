import type * as grpc from '@grpc/grpc-js';
import {
  create,
  createAgentServiceClient,
  AgentMessageSchema,
  type MessageInitShape,
  type AgentServiceClient,
  type ControllerMessage,
  type ControllerStream,
  type Hello,
  type JobRequest,
  type Logger,
  MOVE_REFUSALS,
  RefusalCode,
} from '@smgr/shared';
import { jitteredBackoff } from './backoff.js';
import { describeLinkFailure } from './link-failure.js';

/**
 * Link state:
 *   idle ──start()──► connecting ──Welcome──► connected
 *                        ▲   │ Refusal / error       │ stream ends / missed acks
 *                        │   ▼                       ▼
 *                        └─ backoff (jittered) ◄─────┘
 *   any ──stop()──► stopped
 * Addresses are tried in the order given (controllerOrder: first choice
 * first). A failure moves to the next address after a jittered backoff. A
 * refusal that says "not here, try another" (MOVE_REFUSALS) moves at once,
 * after only a short jitter, until every address refused in a row; then the
 * backoff applies. REBALANCE sends the agent back to its first choice.
 */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface ControllerLinkOptions {
  /** Controller addresses, tried in turn from the first (the agent's first choice). */
  addresses: readonly string[];
  /**
   * Credentials, or a function called before every connection attempt so
   * renewed certificates and a new CRL are used from the next reconnect on.
   */
  credentials: grpc.ChannelCredentials | (() => grpc.ChannelCredentials);
  /** The Hello sent on every (re)connect. */
  hello: () => Hello;
  onJob: (req: JobRequest) => void;
  /** The controller recorded an event the agent sent (AgentEvent.event_id). */
  onEventAck?: (eventId: string) => void;
  /** Called on every state change, after `state` and `downSince` are updated. */
  onStateChange?: (state: LinkState) => void;
  reconnectMaxDelayMs: number;
  /** Plaintext link (tls.insecure): shapes the explanation of a failed connection. */
  insecure?: boolean;
  /**
   * The controller refused this agent for a reason no retry can cure (its
   * certificate is for another host id). The link stops; the agent decides
   * what follows (it exits 78). Without it such refusals are retried.
   */
  onPermanentRefusal?: (refusal: { address: string; code: string; message: string }) => void;
  log: Logger;
}

/** Refusal codes (agent-gateway.ts) that come back on every retry until the agent's config changes. */
const PERMANENT_REFUSALS: ReadonlySet<string> = new Set([RefusalCode.IDENTITY_MISMATCH]);

/** Spreads the agents a draining controller lets go of over this long, so the others do not take them as one herd. */
const MOVE_JITTER_MS = 500;

const WELCOME_TIMEOUT_MS = 10_000;

/** The agent's one outbound stream to a controller, kept up for the agent's lifetime. */
export class ControllerLink {
  state: LinkState = 'idle';
  /** When the link last went down (epoch ms), or null while connected. */
  downSince: number | null = Date.now();
  private client: AgentServiceClient | null = null;
  private call: ControllerStream | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private addressIndex = 0;
  /** Refusals in a row that moved the agent at once; a full round of them falls back to the backoff. */
  private quickMoves = 0;
  private lastAck = 0;
  private readonly log: Logger;

  constructor(private readonly opts: ControllerLinkOptions) {
    this.log = opts.log.child({ component: 'controller-link' });
  }

  start(): void {
    this.connect();
  }

  /** Sends when connected; returns false when the message could not be sent now. */
  send(msg: MessageInitShape<typeof AgentMessageSchema>['msg']): boolean {
    if (this.state !== 'connected' || !this.call) return false;
    try {
      this.call.write(create(AgentMessageSchema, { msg }));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Drops the current stream and connects again at once with fresh
   * credentials (SIGHUP: renewed certificate, new CRL). A no-op when stopped.
   */
  reconnect(why: string): void {
    if (this.state === 'stopped') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.teardown();
    this.setState('backoff');
    this.log.info({ why }, 'reconnecting to the controller');
    this.connect();
  }

  stop(): void {
    this.setState('stopped');
    this.teardown();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private setState(s: LinkState): void {
    if (this.state === 'stopped' || this.state === s) return;
    this.state = s;
    if (s === 'connected') this.downSince = null;
    else if (this.downSince === null) this.downSince = Date.now();
    this.opts.onStateChange?.(s);
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    const address = this.opts.addresses[this.addressIndex % this.opts.addresses.length]!;
    this.setState('connecting');
    const credentials = typeof this.opts.credentials === 'function' ? this.opts.credentials() : this.opts.credentials;
    this.client = createAgentServiceClient(address, credentials);
    const call = this.client.connect();
    const preferred = this.addressIndex % this.opts.addresses.length === 0;
    this.call = call;
    let welcomed = false;
    const welcomeTimer = setTimeout(() => {
      if (!welcomed) this.fail(call, address, 'no Welcome within 10 s');
    }, WELCOME_TIMEOUT_MS);

    call.on('data', (msg: ControllerMessage) => {
      switch (msg.msg.case) {
        case 'welcome': {
          welcomed = true;
          clearTimeout(welcomeTimer);
          this.failures = 0;
          this.quickMoves = 0;
          this.lastAck = Date.now();
          this.setState('connected');
          this.log.info({ address, controllerId: msg.msg.value.controllerId, preferred }, 'connected to controller');
          this.startHeartbeats(call, msg.msg.value.heartbeatIntervalMs || 5_000);
          return;
        }
        case 'refusal': {
          clearTimeout(welcomeTimer);
          const { code, message } = msg.msg.value;
          if (MOVE_REFUSALS.has(code) && this.quickMoves < this.opts.addresses.length) {
            this.move(call, address, code, message);
            return;
          }
          this.log.error({ address, code, reason: message }, 'controller refused this agent');
          if (PERMANENT_REFUSALS.has(code) && this.opts.onPermanentRefusal) {
            this.stop();
            this.opts.onPermanentRefusal({ address, code, message });
            return;
          }
          this.fail(call, address, `refused: ${code}`);
          return;
        }
        case 'jobRequest':
          this.opts.onJob(msg.msg.value);
          return;
        case 'heartbeatAck':
          this.lastAck = Date.now();
          return;
        case 'eventAck':
          this.opts.onEventAck?.(msg.msg.value.eventId);
          return;
        default:
          return;
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      clearTimeout(welcomeTimer);
      this.fail(call, address, describeLinkFailure(err.details || err.message, address, this.opts.insecure ?? false));
    });
    call.on('end', () => {
      clearTimeout(welcomeTimer);
      this.fail(call, address, 'controller closed the stream');
    });
    const hello = this.opts.hello();
    // Lets a controller holding more than its share ask displaced agents to move first.
    hello.preferredAddress = preferred;
    call.write(create(AgentMessageSchema, { msg: { case: 'hello', value: hello } }));
  }

  private startHeartbeats(call: ControllerStream, intervalMs: number): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      // Three intervals without an ack: the stream is dead even if TCP says otherwise.
      if (Date.now() - this.lastAck > intervalMs * 3 + 1_000) {
        this.fail(call, 'current', 'no heartbeat ack from controller');
        return;
      }
      this.send({ case: 'heartbeat', value: { sentAtMs: BigInt(Date.now()) } });
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  private fail(call: ControllerStream, address: string, why: string): void {
    if (call !== this.call || this.state === 'stopped') return;
    this.teardown();
    this.failures++;
    this.quickMoves = 0;
    this.addressIndex++;
    const delay = jitteredBackoff(this.failures, 500, this.opts.reconnectMaxDelayMs);
    this.setState('backoff');
    this.log.warn({ address, why, retryInMs: delay, failures: this.failures }, 'controller link down; reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** A refusal meaning "go elsewhere": the next address (the first choice after REBALANCE), after a short jitter only. */
  private move(call: ControllerStream, address: string, code: string, why: string): void {
    if (call !== this.call || this.state === 'stopped') return;
    this.teardown();
    this.quickMoves++;
    const n = this.opts.addresses.length;
    const current = this.addressIndex % n;
    this.addressIndex = code === RefusalCode.REBALANCE && current !== 0 ? 0 : current + 1;
    const delay = Math.floor(Math.random() * Math.min(MOVE_JITTER_MS, this.opts.reconnectMaxDelayMs));
    this.setState('backoff');
    this.log.info(
      { address, code, reason: why, next: this.opts.addresses[this.addressIndex % n], retryInMs: delay },
      'controller sent this agent elsewhere; moving',
    );
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private teardown(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    const call = this.call;
    this.call = null;
    try {
      call?.cancel();
    } catch {
      // already closed
    }
    this.client?.close();
    this.client = null;
  }
}
