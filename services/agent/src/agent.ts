import {
  channelCredentials,
  ConfigError,
  create,
  HelloSchema,
  JobRequestSchema,
  Operation,
  PROTOCOL_VERSION,
  SMGR_VERSION,
  type JobRequest,
  type Logger,
  type ProcessConfig,
  type SmgrConfig,
} from '@smgr/shared';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ControllerLink } from './link/controller-link.js';
import type { JobJournal } from './jobs/job-journal.js';
import type { JobRunner } from './jobs/job-runner.js';
import { createEngine } from './engine.js';
import { ServiceWatcher } from './watch/service-watcher.js';
import { buildEnv } from './jobs/run-operation.js';
import { checkHealth } from './lifecycle/checks.js';
import { Deadline } from './lifecycle/deadline.js';
import { EventOutbox } from './events/event-outbox.js';
import { EventDelivery } from './events/event-delivery.js';
import { LocalCircuitBreaker } from './autonomy/local-circuit-breaker.js';
import { WatchResponder } from './autonomy/watch-responder.js';

export interface AgentOptions {
  config: SmgrConfig;
  log: Logger;
  /**
   * A failure no retry can cure, found while running (the controller refuses
   * this agent's certificate): runDaemon's `fail`, which exits 78. Default:
   * log it and stay disconnected.
   */
  onFatal?: (err: Error) => void;
}

/**
 * The per-host daemon: keeps the link to the controller up, runs the jobs it
 * receives against the services in its own config, watches the services
 * configured with watch = true, repairs them itself when the controller has
 * been away longer than agent.autonomy_after, and delivers what it saw and
 * did as events.
 *
 * It does not start services at boot: that is the init system's job, and an
 * agent restart (an upgrade) must not start what an operator stopped. A
 * controller (or operator) that wants it sends START for service "*".
 */
export class Agent {
  private readonly link: ControllerLink;
  private readonly runner: JobRunner;
  private readonly journal: JobJournal;
  private readonly watcher: ServiceWatcher;
  private readonly delivery: EventDelivery;
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: AgentOptions) {
    ensureStateDir(opts.config);
    const cfg = opts.config;
    this.log = opts.log.child({ hostId: cfg.agent.hostId });
    const { runner, strategies, holds, journal } = createEngine(cfg, this.log);
    this.runner = runner;
    this.journal = journal;
    this.delivery = new EventDelivery({
      outbox: new EventOutbox(cfg.agent.stateDir, cfg.agent.journalMaxEntries),
      send: (event) => this.link.send({ case: 'event', value: event }),
      log: this.log,
    });
    const responder = new WatchResponder({
      autonomyAfterMs: cfg.agent.autonomyAfterMs,
      downSince: () => this.link.downSince,
      repair: (s) => this.runner.handle(create(JobRequestSchema, { jobId: `auto-${randomUUID()}`, operation: Operation.RESTART, service: s.name })),
      publish: (e) => this.delivery.publish(e),
      supersede: (pred) => this.delivery.supersede(pred),
      breaker: new LocalCircuitBreaker({ maxFailures: cfg.monitor.maxRestartFailures, resetMs: cfg.monitor.circuitResetMs }),
      log: this.log,
    });
    // Built once per service: a check every few seconds need not copy the environment each time.
    const watchEnv = new Map<string, Record<string, string>>();
    this.watcher = new ServiceWatcher({
      services: cfg.processes.filter((p) => p.watch),
      check: async (s: ProcessConfig, round) => {
        let env = watchEnv.get(s.name);
        if (!env) watchEnv.set(s.name, (env = buildEnv(s, '')));
        const ctx = {
          service: s,
          tailBytes: cfg.agent.outputTailBytes,
          stateDir: cfg.agent.stateDir,
          env,
          deadline: new Deadline(s.commandTimeoutMs),
        };
        const r = await checkHealth(ctx, strategies.for(s), 'watch_check', undefined, round.names);
        return { ok: r.ok, record: r.steps.at(-1) };
      },
      skip: (s) => (this.runner.isBusy(s.name) ? 'an operation is running' : holds.isHeld(s.name) ? 'stopped on purpose' : null),
      onFailing: (s, failures, last) => responder.onFailing(s, failures, last),
      onRecovered: (s) => responder.onRecovered(s),
      log: this.log,
    });
    this.link = new ControllerLink({
      addresses: cfg.agent.controllers,
      credentials: channelCredentials(cfg.tls, cfg.source),
      hello: () =>
        create(HelloSchema, {
          hostId: cfg.agent.hostId,
          labels: cfg.agent.labels,
          agentVersion: SMGR_VERSION,
          protocolVersion: PROTOCOL_VERSION,
          recentJobIds: this.journal.recentIds(),
          services: cfg.processes.map((p) => ({
            name: p.name,
            restartStrategy: p.restartStrategy,
            startupRank: p.startupRank,
            watched: p.watch,
          })),
        }),
      onJob: (req) => this.onJob(req),
      onEventAck: (id) => this.delivery.ack(id),
      onStateChange: (state) => {
        if (state === 'connected') this.delivery.connected();
        else this.delivery.disconnected();
      },
      reconnectMaxDelayMs: cfg.agent.reconnectMaxDelayMs,
      insecure: cfg.tls.insecure,
      onPermanentRefusal: ({ address, message }) => opts.onFatal?.(identityRefused(cfg, address, message)),
      log: this.log,
    });
  }

  async start(): Promise<void> {
    const cfg = this.opts.config;
    this.log.info(
      {
        controllers: cfg.agent.controllers,
        services: cfg.processes.map((p) => p.name),
        watched: cfg.processes.filter((p) => p.watch).length,
        autonomyAfterMs: cfg.agent.autonomyAfterMs,
      },
      'agent starting',
    );
    this.link.start();
    this.watcher.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.watcher.stop();
    this.delivery.stop();
    this.link.stop();
    this.log.info({ activeJobs: this.runner.activeJobIds() }, 'agent stopped');
  }

  private onJob(req: JobRequest): void {
    this.link.send({ case: 'jobAccepted', value: { jobId: req.jobId } });
    void this.runner.handle(req).then((result) => {
      // When the link is down the result stays in the journal; the controller
      // re-sends the job on reconnect and gets it from there.
      if (!this.link.send({ case: 'jobResult', value: result })) {
        this.log.warn({ jobId: req.jobId }, 'result kept for redelivery: controller link is down');
      }
    });
  }
}

/** The controller refused the Hello because the certificate names another host: a config error (exit 78). */
function identityRefused(cfg: SmgrConfig, address: string, reason: string): ConfigError {
  return new ConfigError([
    {
      file: cfg.source,
      key: 'agent.host_id',
      value: cfg.agent.hostId,
      rule:
        `the controller at ${address} refused this agent: ${reason}; tls.cert (${cfg.tls.cert}) must be issued for the host id: ` +
        `set agent.host_id to the certificate's name, or issue a certificate for it (smgr pki issue DIR ${cfg.agent.hostId})`,
    },
  ]);
}

/** The journals live in agent.state_dir: one the agent cannot write is a config error (exit 78), not a crash. */
function ensureStateDir(cfg: SmgrConfig): void {
  try {
    mkdirSync(cfg.agent.stateDir, { recursive: true });
    accessSync(cfg.agent.stateDir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(
      [{ file: cfg.source, key: 'agent.state_dir', value: cfg.agent.stateDir, rule: `cannot create or write the directory (${code}); create it writable for the agent's user or choose another` }],
      { cause: err },
    );
  }
}
