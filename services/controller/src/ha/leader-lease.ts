import type { RowDataPacket } from 'mysql2/promise';
import type { Logger } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { currentHolder, holderIsDeadHere } from './holder-identity.js';

/**
 * Which controller is active, decided by a lease row in MySQL (smgr_leases).
 *
 *   standby ──acquired (row free or expired)──► active
 *   active ──renewal failed until the lease ran out / row taken──► standby
 *   any ──stop()──► stopped (an active holder releases the row)
 *
 * Expiry is judged by MySQL's clock (NOW(3)), so controllers' clocks need not
 * agree. The holder counts its lease from the moment it *sent* the renewal,
 * so it steps down no later than MySQL would let a standby take over: two
 * controllers never both believe they are active while MySQL is reachable.
 * (Should that ever be violated, incidents' conditional updates and the
 * agents' job-id dedupe still keep each repair to one run.)
 *
 * A controller restarted on the same machine does not wait out its dead
 * predecessor's lease: when the holder recorded in the row provably no longer
 * exists (same kernel boot and PID namespace, PID gone), start() expires it.
 */
export type LeaseRole = 'standby' | 'active' | 'stopped';

export interface LeaderLeaseOptions {
  pool: DbPool;
  /** The controller id; the holder token adds a per-process suffix. */
  controllerId: string;
  ttlMs: number;
  /** Between renewals (active) and acquisition attempts (standby); default ttl/5. */
  renewEveryMs?: number;
  /** Called on every role change, in order; the next change waits for it. */
  onRoleChange: (role: LeaseRole) => Promise<void> | void;
  log: Logger;
  /** Lease name: controllers sharing one database compete for it. */
  name?: string;
}

export class LeaderLease {
  role: LeaseRole = 'standby';
  /** `<controllerId>#<host>#<boot>#<pidns>#<pid>#<random>` (holder-identity.ts): every process is a new holder. */
  readonly holder: string;
  private readonly name: string;
  private readonly renewEveryMs: number;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private validUntil = 0;
  private transitions: Promise<void> = Promise.resolve();
  private ticking: Promise<void> | null = null;
  private lastError = '';
  private heldAtStop = false;

  constructor(private readonly opts: LeaderLeaseOptions) {
    this.holder = currentHolder(opts.controllerId);
    this.name = opts.name ?? 'controller';
    this.renewEveryMs = opts.renewEveryMs ?? Math.max(100, Math.floor(opts.ttlMs / 5));
    this.log = opts.log.child({ component: 'leader-lease', holder: this.holder });
  }

  /** Tries once right away (so a lone controller is active when start() returns), then keeps trying. */
  async start(): Promise<void> {
    await this.expireDeadHolder();
    await this.tick();
    this.schedule();
  }

  /** Expires the lease of a holder that is provably dead (see holder-identity.ts). */
  private async expireDeadHolder(): Promise<void> {
    const [rows] = await this.opts.pool.query<RowDataPacket[]>('SELECT holder FROM smgr_leases WHERE name = ? AND expires_at >= NOW(3)', [this.name]);
    const holder = rows[0]?.holder as string | undefined;
    if (holder === undefined || !holderIsDeadHere(holder)) return;
    await this.opts.pool.query('UPDATE smgr_leases SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE name = ? AND holder = ?', [this.name, holder]);
    this.log.info({ previous: holder }, 'lease of a dead controller on this machine expired early');
  }

  /** Resolves when every role change so far has been handled. */
  settled(): Promise<void> {
    return this.transitions;
  }

  /**
   * Stops renewing and waits for a renewal and role change in progress; the
   * role becomes `stopped` and no further change is reported. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.role === 'stopped') return;
    this.heldAtStop = this.role === 'active';
    this.role = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await this.transitions;
  }

  /** After stop(): gives the lease up so a standby takes over now rather than when it expires. */
  async release(): Promise<void> {
    if (!this.heldAtStop) return;
    this.heldAtStop = false;
    try {
      await this.opts.pool.query('DELETE FROM smgr_leases WHERE name = ? AND holder = ?', [this.name, this.holder]);
      this.log.info('lease released');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not release the lease; a standby takes over when it expires');
    }
  }

  private schedule(): void {
    if (this.role === 'stopped') return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
        this.schedule();
      });
    }, this.renewEveryMs);
  }

  private async tick(): Promise<void> {
    const sentAt = Date.now();
    let held: boolean;
    try {
      held = await this.tryAcquire();
      this.lastError = '';
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) this.log.warn({ err: message, role: this.role }, 'lease renewal failed');
      this.lastError = message;
      if (this.role === 'active' && Date.now() >= this.validUntil) this.change('standby', 'lease ran out without renewal');
      return;
    }
    if (this.role === 'stopped') return;
    if (held) {
      this.validUntil = sentAt + this.opts.ttlMs;
      if (this.role !== 'active') this.change('active', 'lease acquired');
    } else if (this.role === 'active') {
      this.change('standby', 'lease held by another controller');
    }
  }

  /**
   * Takes the row if it is ours or expired (the WHERE clause sees the old
   * values), creates it if missing, then reads who holds it. acquired_at is
   * assigned before holder so it reads the old holder whether MariaDB applies
   * SET left to right (the default) or simultaneously (SIMULTANEOUS_ASSIGNMENT).
   */
  private async tryAcquire(): Promise<boolean> {
    const ttlUs = this.opts.ttlMs * 1000;
    // A MySQL that stopped answering (a partition, not a refusal) must not
    // hold a renewal past the lease: the holder has to notice and step down.
    const timeout = Math.max(250, Math.floor(this.opts.ttlMs / 3));
    await this.opts.pool.query({
      timeout,
      sql: `UPDATE smgr_leases
          SET acquired_at = IF(holder = ?, acquired_at, NOW(3)), holder = ?, expires_at = NOW(3) + INTERVAL ? MICROSECOND
        WHERE name = ? AND (holder = ? OR expires_at < NOW(3))`,
      values: [this.holder, this.holder, ttlUs, this.name, this.holder],
    });
    await this.opts.pool.query({
      timeout,
      sql: 'INSERT IGNORE INTO smgr_leases (name, holder, acquired_at, expires_at) VALUES (?, ?, NOW(3), NOW(3) + INTERVAL ? MICROSECOND)',
      values: [this.name, this.holder, ttlUs],
    });
    const [rows] = await this.opts.pool.query<RowDataPacket[]>({ timeout, sql: 'SELECT holder FROM smgr_leases WHERE name = ?', values: [this.name] });
    return rows[0]?.holder === this.holder;
  }

  private change(role: 'active' | 'standby', why: string): void {
    if (this.role === 'stopped') return;
    this.role = role;
    this.log.info({ role, why }, role === 'active' ? 'this controller is now active' : 'this controller is now standby');
    this.transitions = this.transitions.then(async () => {
      try {
        await this.opts.onRoleChange(role);
      } catch (err) {
        this.log.error({ err, role }, 'role change handler failed');
      }
    });
  }
}
