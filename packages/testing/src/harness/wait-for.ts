import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long; the error says how long it waited. */
  timeoutMs: number;
  /** Pause between attempts; default 50 ms. */
  intervalMs?: number;
  /** What is awaited, as a phrase: "agent h1 connected". */
  message: string;
  /** Extra diagnostics appended to the timeout error (e.g. a process's output tail). */
  context?: () => string;
}

/** What a truthy check lets through. */
export type Truthy<T> = Exclude<T, null | undefined | false | 0 | 0n | ''>;

/**
 * Calls `fn` until it returns a truthy value and resolves with that value
 * (Nomad `testutil.WaitForResult`). A throw counts as "not yet"; the last one
 * is quoted in the timeout error. Each attempt is also bounded by the deadline,
 * so a call that hangs (a query to a stopped server) cannot hang the test.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions): Promise<Truthy<T>> {
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const remaining = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        Promise.resolve().then(fn),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AttemptTimeout(remaining)), Math.max(remaining, 1));
        }),
      ]);
      if (value) return value as Truthy<T>;
    } catch (err) {
      lastError = err;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)));
  }
  let text = `timed out after ${opts.timeoutMs}ms waiting for: ${opts.message} (${attempts} attempts)`;
  if (lastError !== undefined) text += `\nlast error: ${describe(lastError)}`;
  if (opts.context) {
    try {
      text += `\n${opts.context()}`;
    } catch (err) {
      text += `\n(context failed: ${describe(err)})`;
    }
  }
  return Promise.reject(new Error(text, lastError === undefined ? undefined : { cause: lastError }));
}

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`attempt still running after ${ms}ms`);
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return `${err.name}: ${err.message}${typeof code === 'string' ? ` (${code})` : ''}`;
}
