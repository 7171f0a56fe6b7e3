import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadReaper, type ReaperBinding } from '@smgr/reaper';
import type { Logger } from '@smgr/shared';

/** How long the agent must have been without work before it gives memory back. */
export const IDLE_TRIM_AFTER_MS = 10_000;

export interface IdleTrimOptions {
  log: Logger;
  /** Default IDLE_TRIM_AFTER_MS. */
  afterMs?: number;
  /** The collector to run; default V8's full GC, then malloc_trim. Tests pass a counter. */
  collect?: () => void;
}

let v8Gc: (() => void) | null = null;

/**
 * V8's full garbage collection, without `--expose-gc` on the command line:
 * the flag set at run time, and `gc` taken from a fresh context that sees it.
 */
function fullGc(): void {
  if (!v8Gc) {
    setFlagsFromString('--expose-gc');
    v8Gc = runInNewContext('gc') as () => void;
  }
  v8Gc();
}

/**
 * V8's full collection, then malloc_trim(0) (through the reaper addon): the
 * collection frees the stores of dead buffers and strings, but glibc keeps
 * the freed pages unless they sit at the top of its heap (measured: 1.4 MiB
 * of an idle agent's 56). Without the addon (a broken install: the orphan
 * reaper says so), the collection alone.
 */
function collectAndTrim(): void {
  fullGc();
  let reaper: ReaperBinding;
  try {
    reaper = loadReaper();
  } catch {
    return;
  }
  reaper.trimMalloc();
}

/**
 * Gives back the memory a burst of work took. V8 keeps the heap pages a
 * burst of repairs grew into (measured: +5 MiB after 400 repairs while the
 * live heap grew 0.5 MiB, see bench/agent-repair-memory.ts), and an agent
 * that sleeps in epoll between watch rounds gives its memory reducer little
 * reason to run. So: once the agent has had no work for `afterMs` after a
 * burst, one full collection (a few ms for a heap of ~12 MiB) compacts the
 * heap and returns the empty pages. Never while idle without a burst before,
 * never more than once per burst.
 */
export class IdleTrim {
  private timer: NodeJS.Timeout | null = null;
  private readonly afterMs: number;
  private readonly collect: () => void;
  private readonly log: Logger;
  private work = 0;

  constructor(opts: IdleTrimOptions) {
    this.afterMs = opts.afterMs ?? IDLE_TRIM_AFTER_MS;
    this.collect = opts.collect ?? collectAndTrim;
    this.log = opts.log.child({ component: 'memory' });
  }

  /** Some work happened (an operation, a watch failure): trim once it has been quiet for a while. */
  touch(): void {
    this.work++;
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.trim(), this.afterMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private trim(): void {
    this.timer = null;
    const before = process.memoryUsage();
    const started = Date.now();
    try {
      this.collect();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'memory trim failed');
      return;
    }
    const after = process.memoryUsage();
    const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
    this.log.info(
      {
        workItems: this.work,
        durationMs: Date.now() - started,
        heapMiB: [mib(before.heapTotal), mib(after.heapTotal)],
        rssMiB: [mib(before.rss), mib(after.rss)],
      },
      'memory trimmed after a burst',
    );
    this.work = 0;
  }
}
