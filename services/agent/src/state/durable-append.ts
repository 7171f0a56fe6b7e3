import { closeSync, fsync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirPrivateSync, openPrivateSync, writePrivateFileSync } from '@smgr/shared';

/**
 * An append-only state file (0600) with group commit: each append is
 * written at once (in the kernel's page cache: a reader, or the agent after
 * a crash of its own, sees it), and one fsync per turn of the event loop
 * makes every append of that turn durable, off the event loop (libuv's
 * thread pool). Twenty jobs that arrive together cost one fsync instead of
 * twenty, and the event loop never waits for the disk.
 */
export class DurableAppend {
  private fd: number | null = null;
  /** Lines in the file: those `records()` read, plus those appended or written by `replace` since. */
  private lineCount = 0;
  /** Appends not yet handed to an fsync. */
  private pending: { promise: Promise<void>; resolve: () => void; timer: NodeJS.Immediate } | null = null;

  constructor(readonly path: string) {}

  /** The file `fileName` in the agent's `stateDir`, which is created (private) when missing. */
  static inStateDir(stateDir: string, fileName: string): DurableAppend {
    mkdirPrivateSync(stateDir);
    return new DurableAppend(join(stateDir, fileName));
  }

  /** Appends `text` now; resolves once it is on disk (a failed fsync is not retried: the write itself succeeded). */
  append(text: string): Promise<void> {
    this.lineCount += newlines(text);
    const fd = (this.fd ??= openPrivateSync(this.path, 'a'));
    const buf = Buffer.from(text);
    for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at);
    if (!this.pending) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.pending = { promise, resolve, timer: setImmediate(() => this.syncInBackground()) };
    }
    return this.pending.promise;
  }

  private syncInBackground(): void {
    const p = this.pending;
    if (!p || this.fd === null) {
      this.sync();
      return;
    }
    this.pending = null;
    // A compaction may close the descriptor meanwhile; it syncs what it replaces itself.
    fsync(this.fd, () => p.resolve());
  }

  /** Makes every append so far durable now. */
  sync(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearImmediate(p.timer);
    try {
      if (this.fd !== null) fsyncSync(this.fd);
    } catch {
      // the data is written; a disk that cannot sync will show in the next write
    }
    p.resolve();
  }

  /** Syncs and lets go of the file: it is about to be replaced (compaction); the next append opens the new one. */
  close(): void {
    this.sync();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /**
   * Compaction: replaces the file with `text`, written to `PATH.tmp` (and
   * fsynced there when `fsync` is set) and renamed over it; the next append
   * opens the new file.
   */
  replace(text: string, opts: { fsync?: boolean } = {}): void {
    const tmp = `${this.path}.tmp`;
    this.close();
    writePrivateFileSync(tmp, text);
    if (opts.fsync) {
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, this.path);
    this.lineCount = newlines(text);
  }

  /** The journal's records (readJournal), which also start the line count. */
  records(): JournalRecord[] {
    const records = readJournal(this.path);
    this.lineCount = records.length;
    return records;
  }

  /** How many lines the file holds (see records): its owner compacts it once that is some multiple of what it keeps. */
  get lines(): number {
    return this.lineCount;
  }
}

function newlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** One line of a journal a DurableAppend writes: `KIND ID [DATA]`. */
export interface JournalRecord {
  kind: string;
  id: string;
  data: string | undefined;
}

/** The records of the journal at `path` in file order (lines without an id skipped); none when it cannot be read. */
export function readJournal(path: string): JournalRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: JournalRecord[] = [];
  for (const line of text.split('\n')) {
    const [kind = '', id, data] = line.split(' ');
    if (id) out.push({ kind, id, data });
  }
  return out;
}
