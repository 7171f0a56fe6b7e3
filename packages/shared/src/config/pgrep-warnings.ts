import { parseCommand } from '../command/index.js';
import type { EffectiveSection } from './effective-settings.js';

/** A setting that is accepted but probably not what the admin meant. */
export interface ConfigWarning {
  /** Dotted key where it is set, e.g. `process.default.health_check_command`. */
  readonly key: string;
  /** The command as written. */
  readonly value: string;
  /** Where it is set, when it comes from a file line or the environment. */
  readonly origin?: { readonly file: string; readonly line?: number };
  /** The processes that use it (more than the one section when inherited from [process.default]). */
  readonly usedBy: readonly string[];
  readonly problem: string;
  /** What to write instead. */
  readonly fix: string;
}

/** Hooks whose success means "the service runs", where a loose match hides a dead service. */
const CHECK_KEYS = ['health_check_command', 'assert_up_command', 'assert_down_command'];

export const PGREP_PROBLEM = 'pgrep without -x matches every process whose name merely contains the pattern (a dead bst2 passes its check while bst20 runs)';

/**
 * Warnings for `pgrep PATTERN` checks without `-x` (seed 002 writes
 * `pgrep %s`): still accepted, but a name that is part of another running
 * name never looks dead. `-f` (full command line, a deliberate regex), a
 * pid file (`-F`) and a pattern anchored with ^...$ are taken as meant.
 * One warning per place it is written, naming the processes that use it.
 */
export function pgrepWarnings(sections: readonly EffectiveSection[]): ConfigWarning[] {
  const found = new Map<string, { warning: Omit<ConfigWarning, 'usedBy'>; usedBy: string[] }>();
  for (const section of sections) {
    if (!section.name.startsWith('process.') || section.name === 'process.default') continue;
    const processName = section.name.slice('process.'.length);
    for (const setting of section.settings) {
      if (!CHECK_KEYS.includes(setting.key)) continue;
      const commands = Array.isArray(setting.value) ? setting.value : [setting.value];
      for (const command of commands) {
        if (typeof command !== 'string') continue;
        const fix = pgrepFix(command);
        if (fix === undefined) continue;
        const key = `${setting.section ?? section.name}.${setting.key}`;
        const id = `${key}\0${command}`;
        let entry = found.get(id);
        if (entry === undefined) {
          entry = {
            warning: { key, value: command, ...(setting.origin ? { origin: setting.origin } : {}), problem: PGREP_PROBLEM, fix },
            usedBy: [],
          };
          found.set(id, entry);
        }
        entry.usedBy.push(processName);
      }
    }
  }
  return [...found.values()].map(({ warning, usedBy }) => ({ ...warning, usedBy }));
}

/**
 * For a loose `pgrep` command, the same command with `-x --` before its
 * pattern; undefined when it is not pgrep or already exact or deliberate.
 */
export function pgrepFix(command: string): string | undefined {
  let argv: string[];
  try {
    argv = parseCommand(command, { file: 'check', key: 'check' });
  } catch {
    return undefined;
  }
  if (argv.length < 2 || (argv[0] ?? '').split('/').pop() !== 'pgrep') return undefined;
  const options: string[] = [];
  let pattern: string | undefined;
  for (let i = 1; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      pattern = argv[i + 1];
      break;
    }
    if (arg.startsWith('-') && arg.length > 1) options.push(arg);
    else pattern = arg;
  }
  if (pattern === undefined) return undefined;
  const meant = options.some((o) => ['--exact', '--full', '--pidfile'].includes(o.split('=')[0] ?? '') || /^-[^-]*[xfF]/.test(o));
  if (meant || (pattern.startsWith('^') && pattern.endsWith('$'))) return undefined;
  const quote = (a: string) => (/^[\w%@.,:/=+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const kept = argv.slice(1).filter((a) => a !== '--' && a !== pattern);
  return ['pgrep', '-x', ...kept, '--', pattern].map(quote).join(' ');
}

/** One line for stderr: `FILE:LINE: KEY = "VALUE": PROBLEM; write: FIX`. */
export function formatConfigWarning(w: ConfigWarning): string {
  const where = w.origin === undefined ? '' : `${w.origin.line === undefined ? w.origin.file : `${w.origin.file}:${w.origin.line}`}: `;
  const used = w.key.startsWith('process.default.') ? ` (used by ${w.usedBy.map((n) => `[process.${n}]`).join(', ')})` : '';
  return `${where}${w.key} = ${JSON.stringify(w.value)}: ${w.problem}${used}; write ${w.key.split('.').pop() ?? ''} = ${w.fix}`;
}
