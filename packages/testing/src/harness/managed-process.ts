import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter, once } from 'node:events';
import type { Writable } from 'node:stream';
import { keepTempDirs, trackDir, trackPid, untrackDir, untrackPid } from './safety-net.js';

/** A parsed pino (or any JSON object) log line. Fields are loose on purpose: tests compare them. */
export type LogRecord = Record<string, any>;

export interface ManagedProcessOptions {
  /** Short name used in errors and the log file name: "controller", "agent-h1". */
  name: string;
  /** Merged over `process.env` (minus NODE_TEST_CONTEXT); set a key to `undefined` to remove it. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Write the log file into this directory (as `<name>.log`, appended) instead
   * of a temp dir of its own. The caller then owns the directory.
   */
  logDir?: string;
  /** `'pipe'` exposes `stdin`; default `'ignore'` (daemons read no stdin). */
  stdin?: 'ignore' | 'pipe';
  /** How many output lines to keep in memory; default 5000. */
  maxLines?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all (ENOENT, EACCES). */
  error?: Error;
}

export interface OutputLine {
  /** 0-based index of this line among all lines the process ever wrote. */
  index: number;
  stream: 'stdout' | 'stderr';
  line: string;
  /** The line parsed as a JSON object, when it is one (pino output). */
  json?: LogRecord;
}

export type LinePredicate = (line: string, json?: LogRecord) => boolean;

/** How many lines of output error messages quote. */
const TAIL_LINES = 40;
/** After 'exit', how long to wait for the pipes to drain (a grandchild may hold them open). */
const DRAIN_MS = 250;

/**
 * A child process under test: spawned without a shell, its stdout and stderr
 * kept as lines in memory (bounded) and in a log file, stopped by PID with
 * escalation to SIGKILL. Registered with the safety net, so it is SIGKILLed if
 * the test process exits without stopping it.
 *
 * ```ts
 * const agent = ManagedProcess.start(process.execPath, ['dist/main.js', '--config', cfg], { name: 'agent' });
 * cleanup.add(() => agent.stop());
 * await agent.waitForLine((_, j) => j?.msg === 'connected to controller', 10_000, 'agent connects');
 * ```
 */
export class ManagedProcess {
  readonly name: string;
  /** Undefined only when the spawn itself failed (see `exited`). */
  readonly pid: number | undefined;
  /** Path of the log file holding everything the process wrote. */
  readonly logPath: string;
  /** Resolves once the process has exited and its output has been read. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** The child's stdin when started with `stdin: 'pipe'`, else null. */
  readonly stdin: Writable | null;

  readonly #child: ChildProcess;
  readonly #maxLines: number;
  readonly #buffer: OutputLine[] = [];
  readonly #events = new EventEmitter();
  readonly #log: WriteStream;
  readonly #ownedDir: string | undefined;
  #total = 0;
  /** Whether the log file's last byte is a newline, so the exit marker starts its own line. */
  #atLineStart = true;
  #status: ExitStatus | undefined;

  private constructor(cmd: string, args: string[], opts: ManagedProcessOptions) {
    this.name = opts.name;
    this.#maxLines = opts.maxLines ?? 5000;
    this.#events.setMaxListeners(0);
    if (opts.logDir !== undefined) {
      this.logPath = join(opts.logDir, `${fileSafe(opts.name)}.log`);
    } else {
      this.#ownedDir = mkdtempSync(join(tmpdir(), `smgr-proc-${fileSafe(opts.name)}-`));
      trackDir(this.#ownedDir);
      this.logPath = join(this.#ownedDir, `${fileSafe(opts.name)}.log`);
    }
    this.#log = createWriteStream(this.logPath, { flags: 'a' });
    this.#log.on('error', () => {
      // The log file is a convenience; the in-memory buffer is what errors quote.
    });
    this.#write(`--- ${new Date().toISOString()} start: ${cmd} ${args.join(' ')}\n`);

    this.#child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: childEnv(opts.env),
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
      shell: false,
    });
    this.pid = this.#child.pid;
    this.stdin = this.#child.stdin;
    if (this.pid !== undefined) trackPid(this.pid);

    this.#readLines('stdout');
    this.#readLines('stderr');
    this.exited = new Promise<ExitStatus>((resolve) => {
      const finish = (status: ExitStatus): void => {
        if (this.#status) return;
        this.#status = status;
        if (this.pid !== undefined) untrackPid(this.pid);
        this.#events.emit('exit', status);
        // Resolve once the log file holds everything, so a test can read it right after.
        this.#write(
          `${this.#atLineStart ? '' : '\n'}--- ${new Date().toISOString()} exit: code=${status.code} signal=${status.signal}` +
            `${status.error ? ` error=${status.error.message}` : ''}\n`,
          () => resolve(status),
        );
      };
      this.#child.once('error', (error) => {
        // 'error' without a pid means the spawn failed and no 'exit' will follow.
        if (this.#child.pid === undefined) finish({ code: null, signal: null, error });
      });
      this.#child.once('exit', (code, signal) => {
        const status = { code, signal };
        const timer = setTimeout(() => finish(status), DRAIN_MS);
        this.#child.once('close', () => {
          clearTimeout(timer);
          finish(status);
        });
      });
    });
  }

  /** Spawns `cmd` with `args` (no shell). Spawn failures surface through `exited`. */
  static start(cmd: string, args: string[], opts: ManagedProcessOptions): ManagedProcess {
    return new ManagedProcess(cmd, args, opts);
  }

  /** False once the process has exited. */
  get running(): boolean {
    return this.#status === undefined;
  }

  /** The exit status, once exited. */
  get exitStatus(): ExitStatus | undefined {
    return this.#status;
  }

  /** The output lines kept in memory (the last `maxLines`), stdout and stderr interleaved. */
  lines(): string[] {
    return this.#kept().map((l) => l.line);
  }

  /** The kept lines that are JSON objects, parsed (pino records); other lines are skipped. */
  jsonLines(): LogRecord[] {
    return this.#kept().flatMap((l) => (l.json ? [l.json] : []));
  }

  /** Number of lines written so far; pass it as `fromIndex` to wait only for later lines. */
  lineCount(): number {
    return this.#total;
  }

  /** The last `n` lines, headed with name, pid and log path, for error messages. */
  tail(n = TAIL_LINES): string {
    const kept = this.#kept()
      .slice(-n)
      .map((l) => l.line);
    const state = this.#status ? `exited code=${this.#status.code} signal=${this.#status.signal}` : 'running';
    return (
      `--- last ${kept.length} lines of ${this.name} (pid ${this.pid ?? '-'}, ${state}, log ${this.logPath}) ---\n` +
      (kept.length ? kept.join('\n') : '(no output)')
    );
  }

  /**
   * Resolves with the first line (at index >= `fromIndex`, default 0: lines
   * already written count) for which `pred` is true. Rejects with the output
   * tail if `timeoutMs` passes or the process exits first.
   */
  waitForLine(pred: LinePredicate, timeoutMs: number, description: string, fromIndex = 0): Promise<OutputLine> {
    const matches = (l: OutputLine): boolean => l.index >= fromIndex && pred(l.line, l.json);
    let already: OutputLine | undefined;
    try {
      already = this.#kept().find(matches);
    } catch (err) {
      return Promise.reject(err);
    }
    if (already) return Promise.resolve(already);
    if (this.#status) {
      return Promise.reject(this.#error(`exited before printing: ${description}`));
    }
    return new Promise<OutputLine>((resolve, reject) => {
      const onLine = (l: OutputLine): void => {
        let ok: boolean;
        try {
          ok = matches(l);
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (!ok) return;
        done();
        resolve(l);
      };
      const onExit = (): void => {
        done();
        reject(this.#error(`exited before printing: ${description}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(this.#error(`timed out after ${timeoutMs}ms waiting for: ${description}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#events.off('line', onLine);
        this.#events.off('exit', onExit);
      };
      this.#events.on('line', onLine);
      this.#events.on('exit', onExit);
    });
  }

  /** Resolves true once the process has exited, or false if it still runs after `timeoutMs`. */
  async exitsWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return exited;
  }

  /**
   * Sends `signal` to this PID only (not its process group), waits up to
   * `timeoutMs`, then SIGKILLs. Idempotent; also removes the log dir it owns.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<ExitStatus> {
    if (!this.#status) {
      this.#signal(signal);
      if (!(await this.exitsWithin(timeoutMs))) {
        this.#write(`--- ${new Date().toISOString()} no exit ${timeoutMs}ms after ${signal}: SIGKILL\n`);
        await this.kill9();
      }
    }
    const status = await this.exited;
    await this.#closeLog();
    return status;
  }

  /** SIGKILL now (a crash, as chaos tests want it) and wait for the exit. Keeps the log. */
  async kill9(): Promise<ExitStatus> {
    if (!this.#status) this.#signal('SIGKILL');
    return this.exited;
  }

  #kept(): OutputLine[] {
    return this.#buffer.length > this.#maxLines ? this.#buffer.slice(-this.#maxLines) : this.#buffer;
  }

  #write(text: string, done?: () => void): void {
    if (this.#log.writableEnded) {
      done?.();
      return;
    }
    if (text) this.#atLineStart = text.endsWith('\n');
    this.#log.write(text, () => done?.());
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  async #closeLog(): Promise<void> {
    if (!this.#log.closed) {
      this.#log.end();
      await once(this.#log, 'close').catch(() => undefined);
    }
    if (this.#ownedDir !== undefined) {
      untrackDir(this.#ownedDir);
      if (!keepTempDirs()) await rm(this.#ownedDir, { recursive: true, force: true });
    }
  }

  #error(what: string): Error {
    return new Error(`${this.name}: ${what}\n${this.tail()}`);
  }

  #readLines(stream: 'stdout' | 'stderr'): void {
    const source = this.#child[stream];
    if (!source) return;
    source.setEncoding('utf8');
    let partial = '';
    source.on('data', (chunk: string) => {
      this.#write(chunk);
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) this.#push(stream, part);
    });
    source.on('end', () => {
      if (partial) this.#push(stream, partial);
      partial = '';
    });
  }

  #push(stream: 'stdout' | 'stderr', raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const entry: OutputLine = { index: this.#total, stream, line };
    const json = parseJsonObject(line);
    if (json) entry.json = json;
    this.#total += 1;
    this.#buffer.push(entry);
    // Trim in batches so a chatty process does not cost a splice per line.
    if (this.#buffer.length >= this.#maxLines + 500) this.#buffer.splice(0, this.#buffer.length - this.#maxLines);
    this.#events.emit('line', entry);
  }
}

/**
 * The test's environment plus `extra`. NODE_TEST_CONTEXT is dropped: node:test
 * sets it in test files, and a child node that inherits it and uses node:test
 * would report to a parent runner that is not listening.
 */
function childEnv(extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!extra || !('NODE_TEST_CONTEXT' in extra)) delete env.NODE_TEST_CONTEXT;
  return env;
}

function parseJsonObject(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}

function fileSafe(name: string): string {
  return name.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 40) || 'process';
}
