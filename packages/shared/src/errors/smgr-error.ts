/** Process exit codes used by every smgr binary (exit codes: docs/architecture.md). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  /** EX_UNAVAILABLE: a dependency (MySQL, Redis, controller) cannot be reached. */
  UNAVAILABLE: 69,
  /** EX_CONFIG: the configuration is invalid. */
  CONFIG: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface SmgrErrorOptions {
  cause?: unknown;
  /** Whether trying the same thing again later may succeed. */
  retryable?: boolean;
  /** Structured fields for logs (never secrets). */
  context?: Record<string, unknown>;
}

/**
 * Base of every error smgr raises on purpose. `code` is a stable string that
 * logs, notes and API bodies carry; messages may change, codes do not.
 */
export class SmgrError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;
  readonly exitCode: ExitCode = ExitCode.FAILURE;

  constructor(code: string, message: string, opts: SmgrErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.context = opts.context ?? {};
  }
}

/** Where a bad setting came from, so the message can name it. */
export interface ConfigErrorDetail {
  /** Config file path, or "environment" / "command line" / "defaults". */
  file: string;
  /** 1-based line in `file`, when the setting was read from a line of it. */
  line?: number;
  /** Dotted key, e.g. "monitor.check_interval" or "process.nginx.max_attempts". */
  key: string;
  /** The offending value as written (undefined when a required key is missing). */
  value?: unknown;
  /** The rule it breaks, e.g. "must be a number >= 0". */
  rule: string;
}

/** The configuration is invalid; daemons exit 78 on it. */
export class ConfigError extends SmgrError {
  override readonly exitCode = ExitCode.CONFIG;
  readonly details: ConfigErrorDetail[];

  constructor(details: ConfigErrorDetail[], opts: SmgrErrorOptions = {}) {
    super('CONFIG_INVALID', details.map(formatConfigDetail).join('\n'), opts);
    this.details = details;
  }
}

/** One line: `FILE[:LINE]: KEY[ = "VALUE"]: RULE` (the caller leaves secret values out). */
export function formatConfigDetail(d: ConfigErrorDetail): string {
  const value = d.value === undefined ? '' : ` = ${JSON.stringify(d.value)}`;
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}`;
  return `${where}: ${d.key}${value}: ${d.rule}`;
}

/** A dependency (MySQL, Redis, an agent, the controller) is not reachable now. */
export class UnavailableError extends SmgrError {
  override readonly exitCode = ExitCode.UNAVAILABLE;
  constructor(code: string, message: string, opts: SmgrErrorOptions = {}) {
    super(code, message, { retryable: true, ...opts });
  }
}

/** A peer sent something that breaks the protocol contract. */
export class ProtocolError extends SmgrError {
  constructor(message: string, opts: SmgrErrorOptions = {}) {
    super('PROTOCOL_VIOLATION', message, opts);
  }
}

/** A named thing (service, host, process row) does not exist. */
export class NotFoundError extends SmgrError {
  constructor(message: string, opts: SmgrErrorOptions = {}) {
    super('NOT_FOUND', message, opts);
  }
}

/** A request was understood and deliberately not carried out. */
export class RefusedError extends SmgrError {
  constructor(code: string, message: string, opts: SmgrErrorOptions = {}) {
    super(code, message, opts);
  }
}
