import { Command, Option } from 'commander';
import { ConfigError, ExitCode } from '../errors/index.js';
import type { ConfigReport, DaemonRole, SmgrConfig } from '../config/index.js';
import { closeLogger, loggerFromConfig, type Logger } from '../logging/index.js';
import { routeGrpcLogs } from '../grpc/grpc-log.js';
import { loadCrlSupport } from '../grpc/crl-support.js';
import { SMGR_VERSION } from '../version.js';
import { loadDaemonConfig, logConfigWarnings, printConfigCheck } from './config-check.js';
import { createSdNotifier } from './sd-notify.js';
import { describeStartFailure } from './start-failure.js';

/** Something a daemon runs: started once, stopped once on a signal. */
export interface Daemon {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What runDaemon hands a daemon besides its config and logger. */
export interface DaemonContext {
  /**
   * Ends the process as a failed start does (one plain stderr line, the
   * error's exit code) for a failure found after start() returned that no
   * retry can cure, e.g. a controller refusing this agent's certificate.
   */
  fail(err: unknown): void;
}

export interface DaemonSpec {
  /** Binary name, e.g. "smgr-controller". */
  name: string;
  description: string;
  /** Config sections the file must contain. */
  requireSections?: string[];
  /** Which sections it uses: --check-config shows only those and checks the files they name. */
  role?: DaemonRole;
  /** Extra text for --help. */
  helpAfter?: string;
  /** May throw (a ConfigError for an unreadable file, ...): that is a failed start. */
  create(config: SmgrConfig, log: Logger, ctx: DaemonContext): Daemon;
  /** Bound on a clean stop after SIGTERM before the process exits anyway (exit 1); default 15 s, or computed from the config. */
  stopTimeoutMs?: number | ((config: SmgrConfig) => number);
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * The shared `main()` of both daemons: CLI parsing, config (exit 78 on any
 * config error, naming file, key, value and rule), logging, SIGTERM/SIGINT
 * handling with a bounded stop, and exit codes per docs/architecture.md.
 */
export async function runDaemon(spec: DaemonSpec, argv = process.argv): Promise<never> {
  const program = new Command(spec.name)
    .description(spec.description)
    .version(SMGR_VERSION, '-V, --version')
    .addOption(new Option('-c, --config <file>', 'config file (INI in the seed config.ini format, or .json)').env('SMGR_CONFIG'))
    .option('-s, --set <section.key=value>', 'override one setting; repeatable (beats file and SMGR_* env)', collect, [])
    .option('--check-config', 'validate the configuration, print the effective settings, and exit')
    .addHelpText(
      'after',
      `
Settings come from built-in defaults < the config file < SMGR_<SECTION>_<KEY>
environment variables < --set flags. Exit codes: 0 ok, 1 failure, 2 usage,
69 a dependency is unavailable, 78 invalid configuration.${spec.helpAfter ? `\n\n${spec.helpAfter}` : ''}`,
    )
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    });
  program.parse(argv);
  const opts = program.opts<{ config?: string; set: string[]; checkConfig?: boolean }>();

  let report: ConfigReport;
  try {
    if (!opts.config) {
      throw new ConfigError([{ file: 'command line', key: '--config', rule: 'a config file is required: pass --config FILE or set SMGR_CONFIG' }]);
    }
    report = loadDaemonConfig(
      {
        file: opts.config,
        overrides: opts.set,
        ...(spec.requireSections ? { requireSections: spec.requireSections } : {}),
      },
      spec.role,
    );
  } catch (err) {
    if (err instanceof ConfigError) {
      // One plain line per problem, each whole (file:line, key, value, rule and fix): grep-able, journald-friendly.
      for (const line of err.message.split('\n')) process.stderr.write(`${spec.name}: invalid configuration: ${line}\n`);
      process.exit(ExitCode.CONFIG);
    }
    throw err;
  }
  const config: SmgrConfig = report.config;
  // The CRL parser's ASN.1 libraries are loaded only when a CRL is configured (grpc/crl-support.ts).
  if (config.tls.crl) await loadCrlSupport();
  if (opts.checkConfig) {
    printConfigCheck(spec.name, report, spec.role);
    process.exit(ExitCode.OK);
  }

  let log: Logger;
  try {
    log = await loggerFromConfig(spec.name, config.logging, { configSource: config.source });
  } catch (err) {
    process.stderr.write(`${spec.name}: ${(err as Error).message}\n`);
    process.exit(err instanceof ConfigError ? ExitCode.CONFIG : ExitCode.FAILURE);
  }
  logConfigWarnings(log, report, spec.role);

  // Type=notify under systemd (a no-op elsewhere): READY once serving, watchdog pings, STOPPING.
  const sdNotify = createSdNotifier({ log });
  routeGrpcLogs(log);

  let daemon: Daemon | undefined;
  let exiting = false;

  /**
   * A failed start: one plain line on stderr naming the key and the fix, the
   * same in the log (the stack only at debug level: an expected failure is
   * not a crash), a bounded stop of whatever was opened, and the exit code.
   */
  const fail = async (err: unknown): Promise<never> => {
    if (exiting) return new Promise<never>(() => undefined);
    exiting = true;
    const failure = describeStartFailure(err);
    log.fatal(
      { code: failure.code, exitCode: failure.exitCode, reason: failure.line, ...(log.isLevelEnabled('debug') ? { err } : {}) },
      `${spec.name} failed to start`,
    );
    process.stderr.write(`${spec.name}: ${failure.line}\n`);
    // Connections still retrying must not keep the process alive: exit even if stop() hangs.
    await bounded(daemon?.stop(), FAILED_START_STOP_MS);
    await bounded(closeLogger(log), FAILED_START_STOP_MS);
    process.exit(failure.exitCode);
  };

  const stopBoundMs = typeof spec.stopTimeoutMs === 'function' ? spec.stopTimeoutMs(config) : (spec.stopTimeoutMs ?? 15_000);
  const stop = async (signal: string) => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, 'stopping');
    const bound = setTimeout(() => {
      log.error({ signal, boundMs: stopBoundMs }, 'clean stop took too long; exiting');
      process.exit(ExitCode.FAILURE);
    }, stopBoundMs);
    bound.unref();
    try {
      const notified = sdNotify.stopping();
      await daemon?.stop();
      await notified;
      await closeLogger(log);
      process.exit(ExitCode.OK);
    } catch (err) {
      log.error({ err }, 'error while stopping');
      process.exit(ExitCode.FAILURE);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  try {
    daemon = spec.create(config, log, { fail: (err) => void fail(err) });
    await daemon.start();
    sdNotify.ready();
  } catch (err) {
    return fail(err);
  }
  // Serving from here on: the single place where a daemon has started (READY=1 was sent just above).
  return new Promise<never>(() => undefined);
}

/** How long a failed start may spend closing what it opened before it exits anyway. */
const FAILED_START_STOP_MS = 5_000;

/** Waits for `p` at most `ms`; never throws. */
async function bounded(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (p === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
