import { randomBytes } from 'node:crypto';
import { NotFoundError, UnavailableError, type Logger } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { selectHosts, type HostDirectory } from './host-selection.js';
import { buildRollout, type RolloutRequest } from './rollout-request.js';
import { RolloutRunner, type JobSender } from './rollout-runner.js';
import { RolloutStore, type RolloutFilter, type RolloutSummary } from './rollout-store.js';
import { isActive } from './rollout-machine.js';
import { RolloutCommands } from './rollout-commands.js';
import type { RolloutCommand, RolloutSnapshot } from './rollout-types.js';

export interface RolloutEngineOptions {
  pool: DbPool;
  jobs: JobSender;
  hosts: HostDirectory;
  log: Logger;
  /** Default job timeout of a rollout (monitor.job_timeout). */
  defaultJobTimeoutMs: number;
  /** While driving, how often the database is read for rollouts and commands other controllers took; default 1 s. */
  pickupMs?: number;
  /** How long a controller that does not lead waits for the leader to apply a command; default 10 s. */
  commandWaitMs?: number;
  now?: () => number;
}

/**
 * Rolling updates: starts rollouts, applies operators' commands, and at start
 * resumes every rollout the database says is active. Each active rollout has
 * one RolloutRunner in memory; a final one is read from the database.
 *
 *   idle ──start()──► driving ──stop()──► idle
 * Only the controller holding the HA lease (the leader) drives rollouts. Any
 * controller creates them: an idle engine stores the rollout and the
 * leader's engine, which reads the active rollouts every `pickupMs`, picks it
 * up and drives it. Commands act on the leader's runner: an idle engine
 * records them (smgr_rollout_commands), the leader applies them in order at
 * its next look, and the idle engine answers with the outcome, or with a
 * retryable NOT_ACTIVE when no leader applied it within `commandWaitMs`.
 */
export class RolloutEngine {
  readonly store: RolloutStore;
  private readonly runners = new Map<number, RolloutRunner>();
  private readonly epoch = randomBytes(4).toString('hex');
  private readonly log: Logger;
  private readonly now: () => number;
  private driving_ = false;
  /** Bumped by each start(), so a retry loop of an earlier start gives up. */
  private generation = 0;
  private pickup: NodeJS.Timeout | null = null;
  private picking = false;
  private readonly commands: RolloutCommands;
  private lastPrune = 0;

  constructor(private readonly opts: RolloutEngineOptions) {
    this.store = new RolloutStore(opts.pool);
    this.commands = new RolloutCommands(opts.pool);
    this.log = opts.log.child({ component: 'rollout-engine' });
    this.now = opts.now ?? Date.now;
  }

  /**
   * Starts driving and resumes the active rollouts found in the database.
   * Never throws: while MySQL cannot be read the resumption is retried in the
   * background, so a controller taking the lease is not held up by it.
   */
  async start(): Promise<void> {
    if (this.driving_) return;
    this.driving_ = true;
    const generation = ++this.generation;
    for (let delay = 500; this.driving_ && generation === this.generation; delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.resume();
        this.pickup ??= setInterval(() => void this.pickUp(), this.opts.pickupMs ?? 1_000);
        return;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot read active rollouts yet; retrying');
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  /** Drives the active rollouts not driven here yet; returns their ids. */
  private async resume(): Promise<number[]> {
    const ids = (await this.store.activeIds()).filter((id) => !this.runners.has(id));
    const loaded: RolloutSnapshot[] = [];
    for (const id of ids) {
      const s = await this.store.load(id);
      if (s && isActive(s.rollout.state)) loaded.push(s);
    }
    const driven: number[] = [];
    for (const s of loaded) {
      if (this.runners.has(s.rollout.id)) continue;
      this.drive(s);
      driven.push(s.rollout.id);
    }
    if (driven.length > 0) this.log.info({ rollouts: driven }, 'active rollouts resumed');
    return driven;
  }

  /** Rollouts created through another controller's API since the last look. */
  private async pickUp(): Promise<void> {
    if (!this.driving_ || this.picking) return;
    this.picking = true;
    try {
      const ids = await this.resume();
      if (ids.length > 0) this.log.info({ rollouts: ids }, 'rollouts created on another controller picked up');
      for (const c of await this.commands.take()) {
        if (!this.driving_) {
          await this.commands.finish(c.id, new UnavailableError('NOT_ACTIVE', 'the leader stepped down; try again'));
          continue;
        }
        const err = await this.command(c.rolloutId, c.command, c.by).then(
          () => undefined,
          (e: unknown) => e,
        );
        await this.commands.finish(c.id, err);
        this.log.info({ rolloutId: c.rolloutId, command: c.command, by: c.by, ok: err === undefined }, 'rollout command asked on another controller applied');
      }
      if (Date.now() - this.lastPrune > 3_600_000) {
        this.lastPrune = Date.now();
        await this.commands.prune().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not prune rollout commands'));
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'cannot read active rollouts; will retry');
    } finally {
      this.picking = false;
    }
  }

  /**
   * Starts a rollout: selects hosts (all must be connected), stores it, and drives it.
   * @throws NotFoundError / RefusedError from host selection and validation; RefusedError `ROLLOUT_ACTIVE`
   */
  async create(req: RolloutRequest, createdBy: string): Promise<RolloutSnapshot> {
    const hosts = selectHosts(
      this.opts.hosts,
      req.service,
      { ...(req.hosts ? { hosts: req.hosts } : {}), ...(req.labels ? { labels: req.labels } : {}) },
      { requireConnected: true },
    );
    const draft = buildRollout(req, hosts, { createdBy, now: this.now(), defaultJobTimeoutMs: this.opts.defaultJobTimeoutMs });
    const created = await this.store.create(draft);
    this.log.info(
      { rolloutId: created.rollout.id, service: req.service, version: req.version, hosts: hosts.length, by: createdBy, drivenHere: this.driving_ },
      'rollout created',
    );
    // Not the leader: the leader's engine picks it up from the database.
    this.drive(created);
    return created;
  }

  /**
   * Applies pause / resume / promote / abort / rollback.
   * @throws NotFoundError for an unknown id; RefusedError `INVALID_TRANSITION` / `ROLLOUT_ACTIVE`
   */
  async command(id: number, cmd: RolloutCommand, by: string): Promise<RolloutSnapshot> {
    if (!this.driving_) return this.commandThroughLeader(id, cmd, by);
    let runner = this.runners.get(id);
    if (!runner) {
      const s = await this.store.load(id);
      if (!s) throw new NotFoundError(`no rollout ${id}`, { context: { rolloutId: id } });
      runner = this.newRunner(s);
      try {
        const out = await runner.command(cmd, by);
        this.runners.set(id, runner);
        runner.start();
        return out;
      } catch (err) {
        runner.stop();
        throw err;
      }
    }
    return runner.command(cmd, by);
  }

  /** Not the leader: records the command, waits for the leader's outcome, answers with the stored snapshot. */
  private async commandThroughLeader(id: number, cmd: RolloutCommand, by: string): Promise<RolloutSnapshot> {
    if (!(await this.store.load(id))) throw new NotFoundError(`no rollout ${id}`, { context: { rolloutId: id } });
    const requestId = await this.commands.request(id, cmd, by);
    const wait = this.opts.commandWaitMs ?? 10_000;
    let deadline = Date.now() + wait;
    let extended = false;
    for (;;) {
      const o = await this.commands.outcome(requestId);
      if (o.state === 'failed') throw o.error;
      if (o.state === 'done') {
        const s = await this.store.load(id);
        if (!s) throw new NotFoundError(`no rollout ${id}`, { context: { rolloutId: id } });
        return s;
      }
      if (Date.now() > deadline) {
        // Not taken yet: withdrawn, so it can never be applied after this answer. Taken: the leader is at it.
        if (o.state === 'cancelled' || (await this.commands.cancel(requestId)) || extended) {
          throw new UnavailableError('NOT_ACTIVE', `no leader applied the command within ${Math.round(wait / 1000)} s; try again`);
        }
        extended = true;
        deadline = Date.now() + wait;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The live snapshot when this controller drives the rollout, else the stored one. */
  async get(id: number): Promise<RolloutSnapshot | null> {
    return this.runners.get(id)?.snapshot() ?? this.store.load(id);
  }

  list(filter: RolloutFilter): Promise<RolloutSummary[]> {
    return this.store.list(filter);
  }

  /** Rollouts this controller drives now. */
  driving(): number[] {
    return [...this.runners.keys()];
  }

  /** Stops every runner; their jobs in flight are re-sent by whichever controller drives next. Idempotent. */
  async stop(): Promise<void> {
    this.driving_ = false;
    if (this.pickup) clearInterval(this.pickup);
    this.pickup = null;
    const runners = [...this.runners.values()];
    this.runners.clear();
    for (const r of runners) r.stop();
    await Promise.all(runners.map((r) => r.settled()));
  }

  private drive(s: RolloutSnapshot): void {
    if (!this.driving_) return;
    const runner = this.newRunner(s);
    this.runners.set(s.rollout.id, runner);
    runner.start();
  }

  private newRunner(s: RolloutSnapshot): RolloutRunner {
    const runner: RolloutRunner = new RolloutRunner(s, {
      store: this.store,
      jobs: this.opts.jobs,
      log: this.opts.log,
      epoch: this.epoch,
      now: this.now,
      onIdle: (id) => {
        if (this.runners.get(id) !== runner) return;
        this.runners.delete(id);
        runner.stop();
      },
    });
    return runner;
  }
}
