import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Queue } from 'bullmq';
import { AlarmPoller, type AlarmPollerOptions } from './alarm-poller.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { AgentRegistry } from '../agents/agent-registry.js';
import type { AlarmRow, Incident, IncidentStore } from './incident-store.js';
import type { RepairJobData } from './repair-queue.js';

/**
 * An in-memory stand-in for the two tables the poller reads, where a repair
 * can finish (incident resolved and alarma=0, as one transaction) between
 * any two of the poller's queries.
 */
class TwoTables {
  alarmed = new Set<number>();
  open = new Map<number, Incident>();
  opened: number[] = [];
  /** Runs once, right after the first query of the tick, whichever it is. */
  afterFirstQuery: (() => void) | null = null;

  private queried(): void {
    const f = this.afterFirstQuery;
    this.afterFirstQuery = null;
    f?.();
  }

  store(): IncidentStore {
    const self = this;
    return {
      async alarmedRows(): Promise<AlarmRow[]> {
        const rows = [...self.alarmed].map((processId) => ({ processId, processName: `p${processId}` }));
        self.queried();
        return rows;
      },
      async openIncidents(): Promise<Incident[]> {
        const rows = [...self.open.values()].map((i) => ({ ...i }));
        self.queried();
        return rows;
      },
      async openIncidentsFor(alarms: AlarmRow[]): Promise<number> {
        for (const a of alarms) self.opened.push(a.processId);
        return alarms.length;
      },
    } as unknown as IncidentStore;
  }
}

const incident = (processId: number): Incident => ({
  id: 1,
  processId,
  processName: `p${processId}`,
  service: `p${processId}`,
  hostId: 'h1',
  state: 'dispatched',
  attempts: 1,
  jobId: 'inc-1-a1',
  nextAttemptAt: null,
  openedAt: 0,
  lastMessage: null,
});

/** A poller on `store` with no queue or agents behind it; `opts` set its timing. */
const pollerOn = (store: IncidentStore, opts: Pick<AlarmPollerOptions, 'intervalMs' | 'now'>) =>
  new AlarmPoller({
    store,
    queue: {} as Queue<RepairJobData>,
    registry: new AgentRegistry(),
    breaker: new CircuitBreaker({ maxFailures: 3, resetMs: 1_000 }),
    retryDelayMs: 1_000,
    log: pino({ level: 'silent' }),
    ...opts,
  });

test("a repair finishing between the poller's two reads never opens a second incident for the same occurrence", async () => {
  const db = new TwoTables();
  db.alarmed.add(7);
  db.open.set(7, incident(7));
  // The repair of process 7 completes while the tick is between its queries.
  db.afterFirstQuery = () => {
    db.open.delete(7);
    db.alarmed.delete(7);
  };
  const poller = pollerOn(db.store(), { intervalMs: 200, now: () => 0 });
  await poller.tick();
  assert.deepEqual(db.opened, [], 'no incident opened for an alarm that was already repaired');
});

test('wake() polls at once instead of at the next interval, and a wake during a tick runs one more tick right after it', async () => {
  const db = new TwoTables();
  let ticks = 0;
  const store = db.store();
  const counting = {
    ...store,
    openIncidents: async () => {
      ticks++;
      return store.openIncidents();
    },
    alarmedRows: () => store.alarmedRows(),
    openIncidentsFor: (a: AlarmRow[]) => store.openIncidentsFor(a),
  } as unknown as IncidentStore;
  // Far longer than the test: any tick after the first comes from wake().
  const poller = pollerOn(counting, { intervalMs: 600_000 });
  poller.start();
  const until = async (n: number) => {
    for (let i = 0; i < 200 && ticks < n; i++) await new Promise((r) => setTimeout(r, 5));
  };
  await until(1);
  assert.equal(ticks, 1, 'the first tick at start');
  poller.wake();
  await until(2);
  assert.equal(ticks, 2, 'woken');
  db.afterFirstQuery = () => poller.wake();
  poller.wake();
  await until(4);
  assert.equal(ticks, 4, 'a wake during a tick is not lost');
  await poller.stop();
});
