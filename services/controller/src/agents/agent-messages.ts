import { create, ControllerMessageSchema, type AgentEvent, type AgentMessage, type Logger } from '@smgr/shared';
import type { ControllerMetrics } from '../metrics/controller-metrics.js';
import type { ServiceUsageStore } from '../usage/service-usage-store.js';
import { TokenBuckets } from '../limits/token-bucket.js';
import { LogThrottle } from '../limits/log-throttle.js';
import type { AgentJobs } from './agent-jobs.js';
import type { AgentPresence } from './agent-presence.js';
import type { AgentSession } from './agent-session.js';
import { refusedResult, validateAgentEvent, validateJobResult, validateUsageReport } from './validate-agent-input.js';

export interface AgentMessagesOptions {
  jobs: AgentJobs;
  presence: AgentPresence;
  usage: ServiceUsageStore;
  log: Logger;
  /** See AgentGatewayOptions.onAgentEvent: the event is acknowledged only once this resolves. */
  onAgentEvent?: (hostId: string, event: AgentEvent) => Promise<void>;
  metrics?: ControllerMetrics;
  /** Events one host may send: a burst, then per second (default 100 and 10). */
  eventRate?: { burst: number; perSecond: number };
}

/**
 * What an agent sends on its stream once its Hello was accepted: heartbeats,
 * job results, events and usage reports. Everything is validated here, at
 * the edge; what is refused is counted and logged (at most once per host and
 * reason every 10 s), never stored.
 */
export class AgentMessages {
  private readonly eventBuckets: TokenBuckets;
  /** One warning per host and reason every 10 s, however hard a host floods. */
  private readonly refusalLog = new LogThrottle(10_000);
  private readonly log: Logger;

  constructor(private readonly opts: AgentMessagesOptions) {
    this.log = opts.log;
    const rate = opts.eventRate ?? { burst: 100, perSecond: 10 };
    this.eventBuckets = new TokenBuckets({ capacity: rate.burst, refillPerSecond: rate.perSecond });
  }

  handle(session: AgentSession, msg: AgentMessage): void {
    session.lastSeen = Date.now();
    switch (msg.msg.case) {
      case 'heartbeat':
        this.opts.presence.heartbeat(session.hostId);
        session.send(create(ControllerMessageSchema, { msg: { case: 'heartbeatAck', value: { sentAtMs: msg.msg.value.sentAtMs } } }));
        return;
      case 'jobAccepted':
        this.log.debug({ hostId: session.hostId, jobId: msg.msg.value.jobId }, 'job accepted by agent');
        return;
      case 'jobResult': {
        let result = msg.msg.value;
        const problem = validateJobResult(result);
        if (problem) {
          this.refuseInput(session.hostId, 'bad_result', problem, { jobId: result.jobId.slice(0, 200) });
          result = refusedResult(result, problem);
        }
        if (!this.opts.jobs.resolve(session.hostId, result)) {
          this.log.warn({ hostId: session.hostId, jobId: result.jobId }, 'result for a job not pending on this host; ignored');
        }
        return;
      }
      case 'event': {
        const event = msg.msg.value;
        if (!this.eventBuckets.take(session.hostId)) {
          // Not acknowledged: a well-behaved agent sends it again later, so nothing is lost.
          this.refuseInput(session.hostId, 'rate', 'more events than agent events allow per host; not acknowledged', {});
          return;
        }
        const problem = validateAgentEvent(event);
        if (problem) {
          // Acknowledged and dropped: it could never be stored, and sending it again would not change that.
          this.refuseInput(session.hostId, 'bad_event', problem, { kind: event.kind.slice(0, 32) });
          session.send(create(ControllerMessageSchema, { msg: { case: 'eventAck', value: { eventId: event.eventId } } }));
          return;
        }
        this.log.info({ hostId: session.hostId, eventId: event.eventId, kind: event.kind, service: event.service }, 'agent event');
        const handled = this.opts.onAgentEvent ? this.opts.onAgentEvent(session.hostId, event) : Promise.resolve();
        handled.then(
          () => session.send(create(ControllerMessageSchema, { msg: { case: 'eventAck', value: { eventId: event.eventId } } })),
          (err) => this.log.error({ err, hostId: session.hostId, eventId: event.eventId }, 'agent event not recorded; agent will resend'),
        );
        return;
      }
      case 'usage': {
        const problem = validateUsageReport(msg.msg.value);
        if (problem) this.refuseInput(session.hostId, 'bad_usage', problem, {});
        else this.opts.usage.put(session.hostId, msg.msg.value);
        return;
      }
      case 'hello':
        this.log.warn({ hostId: session.hostId }, 'second Hello on one stream ignored');
        return;
      default:
        this.log.warn({ hostId: session.hostId }, 'empty or unknown agent message ignored');
    }
  }

  /** Counts a refused event or result and logs it, at most once per host and reason every 10 s. */
  private refuseInput(hostId: string, reason: string, problem: string, ctx: Record<string, unknown>): void {
    this.opts.metrics?.agentInputRefused.inc({ reason });
    const hit = this.refusalLog.hit(`${hostId}\0${reason}`);
    if (hit) this.log.warn({ ...ctx, hostId, reason, problem, suppressed: hit.suppressed }, 'agent input refused');
  }
}
