/**
 * One operation at a time per service: each key has a queue (a promise
 * chain), and work on a key starts when the work before it has settled.
 */
export class ServiceLocks {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly depth = new Map<string, number>();

  /** Runs `fn` after everything queued on `key` before it; settles as `fn` does. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    this.depth.set(key, (this.depth.get(key) ?? 0) + 1);
    const p = previous.then(fn);
    const tail = p.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      const left = (this.depth.get(key) ?? 1) - 1;
      if (left === 0) this.depth.delete(key);
      else this.depth.set(key, left);
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return p;
  }

  /** True while something runs or waits on `key`. */
  isBusy(key: string): boolean {
    return (this.depth.get(key) ?? 0) > 0;
  }
}
