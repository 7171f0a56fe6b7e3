import { after } from 'node:test';

type CleanupFn = () => unknown | Promise<unknown>;

/**
 * Collects async cleanups and runs them in reverse order of registration
 * (last started, first stopped), each in its own try/catch so one failure does
 * not skip the rest; the failures are then thrown together.
 *
 * Register a resource's cleanup right after creating it, so a failure later in
 * setup still releases it:
 *
 * ```ts
 * import { after, before, test } from 'node:test';
 * const cleanup = new Cleanup();
 * after(() => cleanup.run());              // or: const cleanup = useCleanup();
 * let mysql: MariaDbInstance;
 * before(async () => {
 *   mysql = await startMariaDb();
 *   cleanup.add(() => mysql.stop(), 'mariadb');
 * });
 * test('an alarm restarts the process', async (t) => {
 *   const c = useCleanup(t);               // per-test: runs when this test ends, pass or fail
 *   const db = await createTestDatabase(mysql);
 *   c.add(() => db.drop(), 'database');
 * });
 * ```
 */
export class Cleanup {
  readonly #steps: { fn: CleanupFn; label: string }[] = [];

  /** Registers `fn`; `label` names it if it fails. */
  add(fn: CleanupFn, label = fn.name || 'cleanup'): void {
    this.#steps.push({ fn, label });
  }

  /** Number of cleanups not yet run. */
  get size(): number {
    return this.#steps.length;
  }

  /**
   * Runs every registered cleanup, newest first, and forgets them (a second
   * run only runs ones added since). Throws an AggregateError naming each that failed.
   */
  async run(): Promise<void> {
    const errors: Error[] = [];
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        await step.fn();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        errors.push(new Error(`cleanup "${step.label}" failed: ${message}`, { cause: err }));
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(errors, `${errors.length} cleanups failed:\n${errors.map((e) => e.message).join('\n')}`);
    }
  }
}

/** The part of node:test's TestContext useCleanup needs. */
export interface AfterHookHost {
  after(fn: () => unknown): void;
}

/**
 * A Cleanup that runs when `t` (a node:test TestContext or SuiteContext)
 * finishes, or, without `t`, after all tests of the file (node:test `after`).
 */
export function useCleanup(t?: AfterHookHost): Cleanup {
  const cleanup = new Cleanup();
  if (t) t.after(() => cleanup.run());
  else after(() => cleanup.run());
  return cleanup;
}
