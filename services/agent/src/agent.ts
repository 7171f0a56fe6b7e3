import {
  channelCredentials,
  create,
  HelloSchema,
  PROTOCOL_VERSION,
  SMGR_VERSION,
  type JobRequest,
  type Logger,
  type ProcessConfig,
  type SmgrConfig,
} from '@smgr/shared';
import { ControllerLink } from './link/controller-link.js';
import { JobJournal } from './jobs/job-journal.js';
import { JobRunner } from './jobs/job-runner.js';
import { ProcessStrategy } from './strategies/process-strategy.js';
import type { RestartStrategy } from './strategies/restart-strategy.js';

export interface AgentOptions {
  config: SmgrConfig;
  log: Logger;
}

/**
 * The per-host daemon: keeps the link to the controller up, runs the jobs it
 * receives against the services in its own config, and reports results.
 */
export class Agent {
  private readonly link: ControllerLink;
  private readonly runner: JobRunner;
  private readonly journal: JobJournal;
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: AgentOptions) {
    const cfg = opts.config;
    this.log = opts.log.child({ hostId: cfg.agent.hostId });
    this.journal = new JobJournal(cfg.agent.stateDir, cfg.agent.journalMaxEntries);
    const process = new ProcessStrategy();
    this.runner = new JobRunner({
      services: cfg.processes,
      strategies: (s: ProcessConfig): RestartStrategy => {
        // The service-manager strategies arrive with the agent engine; until
        // then auto resolves to the process strategy.
        void s;
        return process;
      },
      journal: this.journal,
      stateDir: cfg.agent.stateDir,
      tailBytes: cfg.agent.outputTailBytes,
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
      reconnectMaxDelayMs: cfg.agent.reconnectMaxDelayMs,
      log: this.log,
    });
  }

  async start(): Promise<void> {
    this.log.info(
      { controllers: this.opts.config.agent.controllers, services: this.opts.config.processes.map((p) => p.name) },
      'agent starting',
    );
    this.link.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
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
