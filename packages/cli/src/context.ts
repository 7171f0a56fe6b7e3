import { Command } from 'commander';
import { ExitCode } from '@smgr/shared';
import { ApiClient } from './api-client.js';
import { resolveSettings, type CliFlags, type CliSettings } from './cli-config.js';
import { CliError } from './cli-error.js';
import { colourWanted, paint, type Paint } from './format/colors.js';
import { safeJson, safeText } from './format/sanitize.js';
import { table } from './format/table.js';

/** Where the CLI reads and writes; tests and the menu swap these. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

/** Global options every command sees (`optsWithGlobals`). */
export interface GlobalOptions extends CliFlags {
  json?: boolean;
  timeout?: string;
}

/** One command's view of the CLI: settings, client, output. */
export class CliContext {
  private settings_: CliSettings | null = null;

  constructor(
    readonly io: CliIo,
    readonly opts: GlobalOptions,
  ) {}

  static of(io: CliIo, cmd: Command): CliContext {
    return new CliContext(io, cmd.optsWithGlobals<GlobalOptions>());
  }

  get json(): boolean {
    return this.opts.json === true;
  }

  /** Live displays only on a terminal, never with --json. */
  get interactive(): boolean {
    return this.io.stdout.isTTY === true && !this.json;
  }

  /** Colours for text output (none with --json, NO_COLOR, TERM=dumb or off a terminal). */
  get paint(): Paint {
    return paint(colourWanted(this.io.stdout, this.io.env, this.json));
  }

  get settings(): CliSettings {
    this.settings_ ??= resolveSettings(this.opts, this.io.env);
    return this.settings_;
  }

  /** Request timeout in ms (--timeout seconds, default 30). */
  get timeoutMs(): number {
    if (this.opts.timeout === undefined) return 30_000;
    const s = Number(this.opts.timeout);
    if (!Number.isFinite(s) || s <= 0) throw new CliError(ExitCode.USAGE, '--timeout must be a number of seconds > 0');
    return Math.round(s * 1000);
  }

  /** The API client; `timeoutMs` per request (default --timeout). */
  client(timeoutMs = this.timeoutMs): ApiClient {
    return new ApiClient(this.settings, timeoutMs);
  }

  /** Text for the user; control characters in it are shown, not sent (format/sanitize.ts). */
  out(text: string): void {
    this.io.stdout.write(safeText(text));
  }

  /** A terminal control sequence of our own (cursor movement of a live display), written as it is. */
  control(sequence: string): void {
    this.io.stdout.write(sequence);
  }

  err(text: string): void {
    this.io.stderr.write(safeText(text));
  }

  /** --json: the API's answer as it came; else `render(body)`. */
  print<T>(body: T, render: (b: T) => string): void {
    if (this.json) this.io.stdout.write(`${safeJson(body)}\n`);
    else this.out(render(body));
  }

  /**
   * GET `path` and print the list the answer holds under `key` as a table of
   * `header` and one `row` per item; `empty` instead of a bare header when the
   * list is empty, if given. --json: the API's answer as it came.
   */
  async printList<T>(path: string, key: string, header: readonly string[], row: (item: T) => readonly unknown[], empty?: string): Promise<void> {
    const body = await this.client().get<Record<string, T[]>>(path);
    this.print(body, (b) => {
      const items = b[key] ?? [];
      return items.length === 0 && empty !== undefined ? empty : table(header, items.map(row));
    });
  }
}

/**
 * The smgr CLI's commander Command (its subcommands are ones too): `.run()`
 * is `.action()` handed the command's CliContext first, then the arguments,
 * then the options, so an action starts with what it does.
 */
export class CliCommand extends Command {
  constructor(
    private readonly io: CliIo,
    name?: string,
  ) {
    super(name);
  }

  override createCommand(name?: string): CliCommand {
    return new CliCommand(this.io, name);
  }

  /** `.action()` for `fn(ctx, ...arguments, options)`: the Command commander passes last becomes `ctx`. */
  run<A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<void> | void): this {
    return this.action((...args: unknown[]) => fn(CliContext.of(this.io, args[args.length - 1] as Command), ...(args.slice(0, -1) as A)));
  }
}
