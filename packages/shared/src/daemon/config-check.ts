import {
  checkConfigFiles,
  formatConfigWarning,
  formatEffectiveSettings,
  loadConfigReport,
  pgrepWarnings,
  sectionsUsedBy,
  type ConfigReport,
  type ConfigWarning,
  type DaemonRole,
  type LoadConfigOptions,
} from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';

/**
 * Loads the config as `role` will use it and checks the files it names
 * (certificates readable, log file and state directory writable), so a
 * missing file is a config error (exit 78) before anything starts.
 *
 * @throws ConfigError naming file:line, key, value and the fix
 */
export function loadDaemonConfig(opts: LoadConfigOptions, role: DaemonRole | undefined): ConfigReport {
  const report = loadConfigReport(opts);
  const problems = checkConfigFiles(report.sections, role);
  if (problems.length > 0) throw new ConfigError(problems);
  return report;
}

/** Accepted settings `role` uses that probably do not do what was meant. */
export function configWarnings(report: ConfigReport, role: DaemonRole | undefined): ConfigWarning[] {
  return pgrepWarnings(sectionsUsedBy(report.sections, role));
}

/** `--check-config`: effective settings on stdout (INI, file's own names and units), warnings on stderr. */
export function printConfigCheck(name: string, report: ConfigReport, role: DaemonRole | undefined): void {
  for (const w of configWarnings(report, role)) process.stderr.write(`${name}: warning: ${formatConfigWarning(w)}\n`);
  process.stdout.write(
    `; ${name}: effective settings from ${report.config.source} (secrets masked; "# default" = not set)\n${formatEffectiveSettings(report.sections, role)}`,
  );
}

/** The same warnings as one log line each at start-up. */
export function logConfigWarnings(log: Logger, report: ConfigReport, role: DaemonRole | undefined): void {
  for (const w of configWarnings(report, role)) {
    log.warn({ key: w.key, value: w.value, setAt: w.origin, usedBy: w.usedBy, fix: w.fix }, w.problem);
  }
}
