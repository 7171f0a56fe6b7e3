import { spawn } from 'node:child_process';
import { killProcessTree } from './kill-tree.js';
import { runAsSpawnOptions, type RunAs } from './run-as.js';

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
  /** Run as this user and group (the service's `user`/`group`); default the agent's own. */
  runAs?: RunAs;
  /** SIGTERM → SIGKILL grace when the deadline passes. */
  killGraceMs?: number;
}

/**
 * After the command exits, how long its output pipes may stay open. A command
 * that leaves a background child holding them (an init script that forgets to
 * redirect its daemon's output) must not hold the operation until that child
 * exits.
 */
const DRAIN_MS = 200;

/** Keeps the last `max` bytes of a stream. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    if (this.max <= 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.max) {
      this.size -= this.chunks.shift()!.length;
    }
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** A record for a step that was not run at all (deadline spent, nothing configured). */
export function notRun(name: string, argv: readonly string[], error: string): CommandRecord {
  return { name, argv: [...argv], exitCode: -1, signal: '', ok: false, timedOut: false, startedAtMs: Date.now(), durationMs: 0, outputTail: '', error };
}

/**
 * Runs argv without a shell, as the leader of a new session, with a deadline.
 * On the deadline the whole tree (the command, its session and process group,
 * and every descendant) gets SIGTERM, then SIGKILL after a grace. Output is
 * kept as a bounded tail.
 */
export async function runCommand(argv: readonly string[], opts: RunOptions): Promise<CommandRecord> {
  const started = Date.now();
  const tail = new TailBuffer(opts.tailBytes);
  const base = { name: opts.name, argv: [...argv], startedAtMs: started };
  if (argv.length === 0 || !argv[0]) return notRun(opts.name, argv, 'empty command');
  if (opts.timeoutMs <= 0) return notRun(opts.name, argv, 'no time left before the operation deadline');

  const child = spawn(argv[0], argv.slice(1), {
    // Its own session: the tree can be found and killed as a whole, and a
    // terminal's signals to the agent do not reach it.
    detached: true,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...runAsSpawnOptions(opts.runAs, opts.env),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  // A late 'error' (after exit) must not become an uncaught exception in the agent.
  child.on('error', () => undefined);
  const onData = (c: Buffer) => tail.push(c);
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  let timedOut = false;
  let killed: Promise<number[]> | null = null;
  const deadline = setTimeout(() => {
    timedOut = true;
    if (child.pid) killed = killProcessTree(child.pid, opts.killGraceMs ?? 2_000);
  }, opts.timeoutMs);

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
  });
  clearTimeout(deadline);
  const killedPids = killed ? await (killed as Promise<number[]>) : [];
  await drained(child.stdout, child.stderr);
  const exitCode = typeof exit.code === 'number' ? exit.code : -1;
  const record: CommandRecord = {
    ...base,
    exitCode: timedOut ? -1 : exitCode,
    signal: exit.signal ?? '',
    ok: !timedOut && !exit.error && exitCode === 0,
    timedOut,
    durationMs: Date.now() - started,
    outputTail: tail.toString(),
    error: '',
  };
  if (timedOut) {
    record.error = `timed out after ${opts.timeoutMs} ms; killed the process tree (pid ${killedPids.join(',') || child.pid})`;
  } else if (exit.error) {
    record.error = `could not run ${argv[0]}: ${(exit.error as NodeJS.ErrnoException).code ?? exit.error.message}`;
  }
  return record;
}

/** Waits for both pipes to close, at most DRAIN_MS; then stops keeping what they say. */
async function drained(...streams: (NodeJS.ReadableStream | null)[]): Promise<void> {
  const open = streams.filter((s): s is NodeJS.ReadableStream & { closed?: boolean } => s !== null && !(s as { closed?: boolean }).closed);
  if (open.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(open.map((s) => new Promise<void>((r) => s.once('close', () => r())))),
    new Promise<void>((r) => (timer = setTimeout(r, DRAIN_MS))),
  ]);
  clearTimeout(timer);
  for (const s of open) {
    // Keep reading (a closed read end would SIGPIPE the child that holds it) but keep nothing.
    s.removeAllListeners('data');
    s.resume();
  }
}
