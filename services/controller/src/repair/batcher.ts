/**
 * Group commit for one kind of database call. Callers ask for one item each;
 * items that arrive in the same turn of the event loop, or while a batch is
 * being written, go into the next batch together. An idle system pays no
 * extra latency (a lone item is flushed on the next turn); a busy one pays
 * one round trip per batch instead of one per item.
 */
export class Batcher<In, Out> {
  private queue: { item: In; resolve: (o: Out) => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;
  private scheduled = false;

  /**
   * @param run handles a whole batch and returns one result per item, in order;
   *   if it throws, every item of that batch is rejected with the error.
   */
  constructor(
    private readonly run: (items: In[]) => Promise<Out[]>,
    private readonly maxBatch = 200,
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      const out = await this.run(batch.map((b) => b.item));
      for (const [i, b] of batch.entries()) b.resolve(out[i]!);
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
