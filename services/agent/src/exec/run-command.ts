import { execa } from 'execa';

/** The record of one command the agent ran: what, how it ended, how long, what it said. */
export interface CommandRecord {
  name: string;
  argv: string[];
  /** -1 when it did not exit by itself (signal, timeout, spawn error). */
  exitCode: number;
  signal: string;
  ok: boolean;
  timedOut: boolean;
  startedAtMs: number;
  durationMs: number;
  outputTail: string;
  error: string;
}

export interface RunOptions {
  /** Step name for the record ("pre_restart", "health_check", ...). */
  name: string;
  timeoutMs: number;
  tailBytes: number;
  env?: Record<string, string>;
  cwd?: string;
  /** SIGTERM → SIGKILL grace when the deadline passes. */
  killGraceMs?: number;
}

/** Keeps the last `max` bytes of a stream. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/**
 * Runs argv without a shell, in its own process group, with a deadline. On
 * the deadline the whole group (the command and everything it spawned) gets
 * SIGTERM, then SIGKILL after a grace. Output is kept as a bounded tail.
 */
export async function runCommand(argv: readonly string[], opts: RunOptions): Promise<CommandRecord> {
  const started = Date.now();
  const tail = new TailBuffer(opts.tailBytes);
  const base = { name: opts.name, argv: [...argv], startedAtMs: started };
  if (argv.length === 0 || !argv[0]) {
    return { ...base, exitCode: -1, signal: '', ok: false, timedOut: false, durationMs: 0, outputTail: '', error: 'empty command' };
  }
  const child = execa(argv[0], argv.slice(1), {
    reject: false,
    buffer: false,
    all: true,
    stdin: 'ignore',
    detached: true,
    cleanup: true,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  child.all?.on('data', (c: Buffer) => tail.push(c));
  let timedOut = false;
  const killGroup = (sig: NodeJS.Signals) => {
    if (!child.pid) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // group already gone
    }
  };
  let graceTimer: NodeJS.Timeout | undefined;
  const deadline = setTimeout(() => {
    timedOut = true;
    killGroup('SIGTERM');
    graceTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 2_000);
  }, opts.timeoutMs);
  const r = await child;
  clearTimeout(deadline);
  // The leader may be gone while children it left behind still run.
  if (timedOut) killGroup('SIGKILL');
  clearTimeout(graceTimer);
  const exitCode = typeof r.exitCode === 'number' ? r.exitCode : -1;
  const spawnError =
    r.failed && r.exitCode === undefined && !r.signal && !timedOut
      ? ((r.cause as Error | undefined)?.message ?? r.shortMessage ?? 'could not start')
      : '';
  return {
    ...base,
    exitCode: timedOut ? -1 : exitCode,
    signal: r.signal ?? '',
    ok: !timedOut && exitCode === 0,
    timedOut,
    durationMs: Date.now() - started,
    outputTail: tail.toString(),
    error: timedOut ? `timed out after ${opts.timeoutMs} ms; process group killed` : spawnError,
  };
}
