import { fromBinary, toBinary, JobResultSchema, type JobResult } from '@smgr/shared';
import { DurableAppend } from '../state/durable-append.js';

type Entry = { id: string; state: 'started' } | { id: string; state: 'done'; result: JobResult };
/**
 * What is kept in memory: a finished job's result as its encoded bytes
 * (base64, as in the file), decoded only when the job is asked for again. A
 * thousand results as message objects held ~3× the heap, and the agent keeps
 * journal_max_entries of them for its whole life.
 */
type Stored = { id: string; state: 'started' } | { id: string; state: 'done'; data: string };

/**
 * The agent's record of the jobs it ran, on disk, so that a job id sent again
 * (controller restart, reconnect, Redis replay) is answered from the record
 * instead of being run twice — also across an agent restart. A job that was
 * started but never finished before the agent died is not run again: its
 * outcome is unknown and reported as such.
 */
export class JobJournal {
  private readonly entries = new Map<string, Stored>();
  private readonly file: DurableAppend;

  constructor(
    stateDir: string,
    private readonly maxEntries = 1000,
  ) {
    this.file = DurableAppend.inStateDir(stateDir, 'jobs.journal');
    this.load();
  }

  get(id: string): Entry | undefined {
    const e = this.entries.get(id);
    if (e?.state !== 'done') return e;
    return { id, state: 'done', result: fromBinary(JobResultSchema, Buffer.from(e.data, 'base64')) };
  }

  /** Ids of the most recent finished jobs, newest last. */
  recentIds(limit = 100): string[] {
    return [...this.entries.values()]
      .filter((e) => e.state === 'done')
      .slice(-limit)
      .map((e) => e.id);
  }

  /**
   * Records that the job starts; resolves once that is on disk (run the job
   * only then). Jobs that arrive together share one fsync.
   */
  markStarted(id: string): Promise<void> {
    return this.put({ id, state: 'started' });
  }

  /** Records the job's result; resolves once that is on disk. */
  markDone(result: JobResult): Promise<void> {
    return this.put({ id: result.jobId, state: 'done', data: Buffer.from(toBinary(JobResultSchema, result)).toString('base64') });
  }

  private put(e: Stored): Promise<void> {
    this.entries.delete(e.id);
    this.entries.set(e.id, e);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const line = e.state === 'done' ? `D ${e.id} ${e.data}\n` : `S ${e.id}\n`;
    const durable = this.file.append(line);
    if (this.file.lines > this.maxEntries * 3) this.compact();
    return durable;
  }

  private load(): void {
    for (const { kind, id, data } of this.file.records()) {
      try {
        if (kind === 'S') this.entries.set(id, { id, state: 'started' });
        else if (kind === 'D' && data) {
          const bytes = Buffer.from(data, 'base64');
          fromBinary(JobResultSchema, bytes); // a torn line does not decode
          // Encoded again: a fresh string, not a slice that would keep the whole file's text alive.
          this.entries.set(id, { id, state: 'done', data: bytes.toString('base64') });
        }
      } catch {
        // a torn last line after a crash: skip it
      }
    }
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  private compact(): void {
    const body = [...this.entries.values()].map((e) => (e.state === 'done' ? `D ${e.id} ${e.data}` : `S ${e.id}`)).join('\n');
    this.file.replace(body ? `${body}\n` : '');
  }
}
