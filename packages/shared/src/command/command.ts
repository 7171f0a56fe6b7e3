/**
 * One command as an argv vector: `argv[0]` is the program, the rest are its
 * arguments. It is executed directly (execFile/spawn without `shell`), never
 * handed to a shell.
 */
export type Command = readonly string[];

/**
 * A hook made of alternatives tried in order until one succeeds (seed 003's
 * error-handler fallbacks). An empty list means the hook is not configured.
 */
export type CommandList = readonly Command[];

/** Where a command string was written, so a bad one can be named in errors. */
export interface CommandSource {
  /** Config file path, or "environment" / "command line" / "defaults". */
  file: string;
  /** Dotted key, e.g. "process.nginx.start_command". */
  key: string;
}

/** Values substituted into a command template by `expandArgv`. */
export interface CommandVars {
  /** Replaces every `%s`: the process name (it may come from the database). */
  name: string;
}
