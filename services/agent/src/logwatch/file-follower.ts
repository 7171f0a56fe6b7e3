import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Logger } from '@smgr/shared';

export interface FileFollowerOptions {
  path: string;
  /** Each complete line read (without its newline, cut at maxLineBytes), in order. */
  onLine: (line: string) => void;
  /**
   * Whether the line at bytes [start, end) of `buf` is wanted (default: all);
   * an unwanted line is counted but never decoded. `seq` is new for each
   * buffer split (see RuleMatcher.mayMatch).
   */
  wants?: (buf: Buffer, start: number, end: number, seq: number) => boolean;
  /** Bytes read per poll at most (CPU bound); default 8 MiB. */
  maxBytesPerPoll?: number;
  /** Longer lines are cut here (memory bound); default 64 KiB. */
  maxLineBytes?: number;
  /** When further behind than this, skip to the end (counted); default 64 MiB. */
  maxLagBytes?: number;
  log: Logger;
}

/** Counters for logs and the bench. */
export interface FollowerStats {
  bytesRead: number;
  lines: number;
  rotations: number;
  truncations: number;
  /** Bytes skipped because the reader fell more than maxLagBytes behind. */
  skippedBytes: number;
  /** Lines cut at maxLineBytes. */
  longLines: number;
}

const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;

/**
 * Follows one log file like `tail -F`, polled: starts at its end (old lines
 * are not news), reads what is appended, follows a rotation by rename (the
 * rest of the old file is read first, then the new file from its start) and
 * a truncation (copytruncate: from the start again), and waits for a file
 * that does not exist yet (read from its start once it appears). Memory is
 * bounded by maxLineBytes plus one chunk; CPU by maxBytesPerPoll per poll.
 */
export class FileFollower {
  readonly stats: FollowerStats = { bytesRead: 0, lines: 0, rotations: 0, truncations: 0, skippedBytes: 0, longLines: 0 };
  private fd: FileHandle | null = null;
  private ino = -1;
  private pos = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private overflow = false;
  private started = false;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private seq = 0;
  private readonly maxBytes: number;
  private readonly maxLine: number;
  private readonly maxLag: number;

  constructor(private readonly opts: FileFollowerOptions) {
    this.maxBytes = opts.maxBytesPerPoll ?? 8 * 1024 * 1024;
    this.maxLine = opts.maxLineBytes ?? 64 * 1024;
    this.maxLag = opts.maxLagBytes ?? 64 * 1024 * 1024;
  }

  /** One look at the file: reads what is new. Never throws (a missing file is waited for). */
  async poll(): Promise<void> {
    const st = await stat(this.opts.path, { bigint: false }).catch(() => null);
    if (!this.started) {
      this.started = true;
      if (st) await this.openAt(st.ino, st.size);
      return;
    }
    if (this.fd && st && st.ino !== this.ino) {
      // Renamed away: finish the old file, then start the new one from its beginning.
      await this.readUntil(Number.MAX_SAFE_INTEGER);
      await this.close();
      this.stats.rotations += 1;
      this.opts.log.info({ file: this.opts.path }, 'log file rotated; following the new one');
    }
    if (!st) return;
    if (!this.fd) await this.openAt(st.ino, 0);
    if (st.size < this.pos) {
      this.stats.truncations += 1;
      this.opts.log.info({ file: this.opts.path, was: this.pos, now: st.size }, 'log file truncated; reading it from the start');
      this.pos = 0;
      this.dropPartial();
    }
    if (st.size - this.pos > this.maxLag) {
      const skip = st.size - this.pos;
      this.stats.skippedBytes += skip;
      this.opts.log.warn({ file: this.opts.path, skippedBytes: skip }, 'log file written faster than it can be read; skipped to its end');
      this.pos = st.size;
      this.dropPartial();
      return;
    }
    await this.readUntil(st.size);
  }

  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    this.ino = -1;
    this.dropPartial();
    await fd?.close().catch(() => undefined);
  }

  private async openAt(ino: number, pos: number): Promise<void> {
    try {
      this.fd = await open(this.opts.path, 'r');
      const st = await this.fd.stat();
      // The name may have moved on between stat and open: trust the open file.
      this.ino = st.ino;
      this.pos = st.ino === ino ? pos : 0;
    } catch (err) {
      this.fd = null;
      this.opts.log.warn({ file: this.opts.path, err: (err as Error).message }, 'log file cannot be opened; will retry');
    }
  }

  /** Reads from pos up to `end` (or EOF), at most maxBytesPerPoll. */
  private async readUntil(end: number): Promise<void> {
    if (!this.fd) return;
    let budget = this.maxBytes;
    while (this.pos < end && budget > 0) {
      const want = Math.min(CHUNK, end - this.pos, budget);
      const { bytesRead } = await this.fd.read(this.buf, 0, want, this.pos);
      if (bytesRead === 0) break;
      this.pos += bytesRead;
      budget -= bytesRead;
      this.stats.bytesRead += bytesRead;
      this.split(this.buf.subarray(0, bytesRead));
    }
  }

  /**
   * Hands on each line as it is found: a line inside the chunk is decoded
   * straight from the read buffer, and only when `wants` it; a line begun in
   * an earlier chunk is put together from its copied pieces. Nothing per line
   * outlives the call, so a poll of megabytes leaves no garbage that survives
   * a scavenge (which would grow V8's young generation: RSS).
   */
  private split(chunk: Buffer): void {
    const wants = this.opts.wants;
    const seq = ++this.seq;
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      this.stats.lines += 1;
      if (this.partialBytes === 0 && !this.overflow) {
        let end = nl;
        if (end - start > this.maxLine) {
          this.stats.longLines += 1;
          end = start + this.maxLine;
        }
        if (!wants || wants(chunk, start, end, seq)) this.opts.onLine(chunk.toString('utf8', start, end));
      } else {
        this.append(chunk.subarray(start, nl));
        const line = this.partial.length === 1 ? this.partial[0]! : Buffer.concat(this.partial, this.partialBytes);
        this.dropPartial();
        if (!wants || wants(line, 0, line.length, ++this.seq)) this.opts.onLine(line.toString('utf8'));
      }
      start = nl + 1;
    }
    this.append(chunk.subarray(start));
  }

  private append(piece: Buffer): void {
    if (piece.length === 0) return;
    const room = this.maxLine - this.partialBytes;
    if (piece.length > room) {
      if (!this.overflow) this.stats.longLines += 1;
      this.overflow = true;
    }
    if (room <= 0) return;
    // Copied: the read buffer is reused.
    const kept = Buffer.from(piece.subarray(0, room));
    this.partial.push(kept);
    this.partialBytes += kept.length;
  }

  private dropPartial(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.overflow = false;
  }
}
