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
import { unwatchFile, watchFile } from 'node:fs';
import { ControllerLink } from './link/controller-link.js';
import { controllerOrder } from './link/address-order.js';
import type { JobJournal } from './jobs/job-journal.js';
import type { JobRunner, OperationNotice } from './jobs/job-runner.js';
import { createEngine } from './engine.js';
import { ServiceWatcher } from './watch/service-watcher.js';
import { pidfileCheck } from './watch/pidfile-check.js';
import type { SystemdDbusWatch } from './watch/systemd-dbus-watch.js';
import { systemdDbusWatchFor } from './watch/unit-watch-for.js';
import { buildEnv } from './jobs/run-operation.js';
import { checkHealth } from './lifecycle/checks.js';
import { Deadline } from './lifecycle/deadline.js';
import { EventOutbox } from './events/event-outbox.js';
import { EventDelivery } from './events/event-delivery.js';
import { LocalCircuitBreaker } from './autonomy/local-circuit-breaker.js';
import { WatchResponder } from './autonomy/watch-responder.js';
import type { LogWatch } from './logwatch/log-watch.js';
import { checkRunAs } from './exec/run-as.js';
import { ResourceSampler } from './usage/resource-sampler.js';
import { ResourceMonitor } from './usage/resource-monitor.js';
import { ContainerInit } from './init/container-init.js';
import { trackSpawnedChildren } from './init/spawned-children.js';
import { IdleTrim } from './memory/idle-trim.js';

/** Operations that leave a service running when they succeed. */
const BRINGS_UP: ReadonlySet<Operation> = new Set([Operation.START, Operation.RESTART, Operation.UPDATE]);

/** How often the CRL file is checked for changes. */
const CRL_POLL_MS = 2_000;

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
  private unitWatch: SystemdDbusWatch | null = null;
  private readonly responder: WatchResponder;
  private readonly delivery: EventDelivery;
  private readonly resources: ResourceMonitor;
  private readonly init: ContainerInit;
  /** [log_rule.NAME] sections: log lines that raise an alarm or send an event. */
  /** Made in start(), and only with log rules: re2js and the followers cost memory an agent without rules does not pay. */
  private logWatch: LogWatch | null = null;
  private readonly log: Logger;
  private readonly trim: IdleTrim;
  private stopped = false;
  private readonly onSighup = () => this.link.reconnect('SIGHUP: reloading TLS certificates and CRL');

  constructor(private readonly opts: AgentOptions) {
    // Before the first child process: the orphan reaper must know every child libuv waits for.
    trackSpawnedChildren();
    ensureStateDir(opts.config);
    const cfg = opts.config;
    this.log = opts.log.child({ hostId: cfg.agent.hostId });
    this.trim = new IdleTrim({ log: this.log });
    const { runner, strategies, holds, journal, started } = createEngine(cfg, this.log, {
      onOperation: (e) => this.onOperation(e),
      onStartedExit: (service, pid, code, signal) => {
        this.log.info({ service, pid, exitCode: code, signal }, 'started process exited');
        this.watcher?.checkNow(service, {
          source: 'exit',
          detail: `pid ${pid}, started by the agent, ${signal ? `was killed by ${signal}` : `exited ${code}`}`,
        });
      },
    });
    this.runner = runner;
    this.journal = journal;
    this.init = new ContainerInit({ config: cfg, runner, holds, log: this.log });
    this.delivery = new EventDelivery({
      outbox: new EventOutbox(cfg.agent.stateDir, cfg.agent.journalMaxEntries),
      send: (event) => this.link.send({ case: 'event', value: event }),
      log: this.log,
    });
    const responder = (this.responder = new WatchResponder({
      autonomyAfterMs: cfg.agent.autonomyAfterMs,
      downSince: () => this.link.downSince,
      repair: (s) => this.runner.handle(create(JobRequestSchema, { jobId: `auto-${randomUUID()}`, operation: Operation.RESTART, service: s.name })),
      publish: (e) => this.delivery.publish(e),
      supersede: (pred) => this.delivery.supersede(pred),
      breaker: new LocalCircuitBreaker({ maxFailures: cfg.monitor.maxRestartFailures, resetMs: cfg.monitor.circuitResetMs }),
      log: this.log,
    }));
    const skip = (s: ProcessConfig) => (this.runner.isBusy(s.name) ? 'an operation is running' : holds.isHeld(s.name) ? 'stopped on purpose' : null);
    this.resources = new ResourceMonitor({
      services: cfg.processes,
      report: cfg.agent.serviceUsage,
      reportIntervalMs: cfg.agent.usageReportIntervalMs,
      skip,
      restart: (s) => this.runner.handle(create(JobRequestSchema, { jobId: `resource-${randomUUID()}`, operation: Operation.RESTART, service: s.name })),
      publish: (e) => this.delivery.publish(e),
      send: (report) => this.link.send({ case: 'usage', value: report }),
      sampler: new ResourceSampler({ knownPids: (service) => started.pids(service) }),
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
        // pidfile = : the process it names must be alive, whatever the health check says (see pidfileCheck).
        if (s.pidfile) {
          const pf = pidfileCheck(s.pidfile);
          if (!pf.ok) return { ok: false, record: pf };
        }
        const r = await checkHealth(ctx, strategies.for(s), 'watch_check', undefined, round.names);
        return { ok: r.ok, record: r.steps.at(-1) };
      },
      // A process the agent started runs under the name until its exit comes: no need to read /proc every round.
      knownUp: (s) => started.running(s.name),
      skip,
      afterRound: (services, names) => this.resources.afterRound(services, names),
      onFailing: (s, failures, last, trigger) => responder.onFailing(s, failures, last, trigger),
      onRecovered: (s) => responder.onRecovered(s),
      log: this.log,
    });
    this.link = new ControllerLink({
      addresses: controllerOrder(cfg.agent.hostId, cfg.agent.controllers, cfg.agent.controllerOrder),
      credentials: this.credentials(),
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

  /**
   * Credentials for the next connection attempt, read from the `[tls]` files
   * each time: a renewed certificate or a new CRL is used from the next
   * reconnect (SIGHUP reconnects at once). Bad files at start are a
   * ConfigError (exit 78); later, the last good credentials stay in use.
   */
  private credentials(): () => ReturnType<typeof channelCredentials> {
    const cfg = this.opts.config;
    let last = channelCredentials(cfg.tls, cfg.source);
    let first = true;
    return () => {
      if (first || cfg.tls.insecure) {
        first = false;
        return last;
      }
      try {
        last = channelCredentials(cfg.tls, cfg.source);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'cannot reload TLS files; using the previous certificates and CRL');
      }
      return last;
    };
  }

  async start(): Promise<void> {
    const cfg = this.opts.config;
    // A user/group the agent cannot switch to is a config error (exit 78), not a failure at the first job.
    checkRunAs([cfg.processDefaults, ...cfg.processes], { source: cfg.source });
    process.on('SIGHUP', this.onSighup);
    // A new CRL may revoke the controller this agent is talking to: reconnect so the handshake checks it.
    if (!cfg.tls.insecure && cfg.tls.crl) {
      watchFile(cfg.tls.crl, { interval: CRL_POLL_MS, persistent: false }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino) this.link.reconnect('the CRL file changed');
      });
    }
    this.log.info(
      {
        controllers: cfg.agent.controllers,
        services: cfg.processes.map((p) => p.name),
        watched: cfg.processes.filter((p) => p.watch).length,
        autonomyAfterMs: cfg.agent.autonomyAfterMs,
      },
      'agent starting',
    );
    // Reaping (and, in container mode, starting the services) before any job can run a start command.
    this.init.start();
    this.link.start();
    this.watcher.start();
    this.resources.start();
    // systemd units of watched services: a unit that goes down is checked at once (polling stays the fallback).
    const unitWatch = await systemdDbusWatchFor(cfg, this.log, (e) =>
      this.watcher.checkNow(e.service, {
        source: 'dbus',
        detail: `systemd reported ${e.unit} ${e.activeState}/${e.subState} over D-Bus`,
        conclusive: e.settled,
      }),
    );
    const logWatch =
      cfg.logRules.length > 0
        ? new (await import('./logwatch/log-watch.js')).LogWatch({ rules: cfg.logRules, publish: (e) => this.delivery.publish(e), log: this.log })
        : null;
    // A stop that came while the modules loaded: nothing more starts.
    if (this.stopped) return;
    this.unitWatch = unitWatch;
    this.unitWatch?.start();
    this.logWatch = logWatch;
    this.logWatch?.start();
    // Starting up is a burst too: what loading and the first rounds left behind goes back once it is quiet.
    this.trim.touch();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.off('SIGHUP', this.onSighup);
    if (this.opts.config.tls.crl) unwatchFile(this.opts.config.tls.crl);
    this.watcher.stop();
    this.unitWatch?.stop();
    this.resources.stop();
    this.trim.stop();
    await this.logWatch?.stop().catch((err) => this.log.warn({ err: (err as Error).message }, 'log rules did not stop cleanly'));
    this.delivery.stop();
    this.link.stop();
    // Container mode: the services, by descending startup_rank; as PID 1, everything left.
    await this.init.stop();
    this.log.info({ activeJobs: this.runner.activeJobIds() }, 'agent stopped');
  }

  /**
   * Every operation on a service, whoever asked for it: checks running across
   * it are stale, and one that brought the service up ends its failing spell,
   * so a failure right after a repair is reported (and repaired) again.
   */
  private onOperation(e: OperationNotice): void {
    this.trim.touch();
    if (!this.watcher) return; // operations cannot run before the constructor ends; be safe anyway
    if (e.ok === true && BRINGS_UP.has(e.operation)) {
      this.watcher.endSpell(e.service);
      this.responder.endSpell(e.service);
    } else {
      this.watcher.invalidate(e.service);
    }
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
      [
        {
          file: cfg.source,
          key: 'agent.state_dir',
          value: cfg.agent.stateDir,
          rule: `cannot create or write the directory (${code}); create it writable for the agent's user or choose another`,
        },
      ],
      { cause: err },
    );
  }
}
