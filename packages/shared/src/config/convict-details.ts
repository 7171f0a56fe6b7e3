import type convict from 'convict';
import type { ConfigErrorDetail } from '../errors/index.js';
import type { Setting } from './setting.js';

/** Where a key convict complains about was set, and how to name it. */
export interface Located {
  /** Dotted key to report, e.g. "process.nginx.max_attempts". */
  key: string;
  /** Undefined when the value is a built-in default. */
  setting: Setting | undefined;
}

// convict 6 reports every problem in one Error, a line each:
//   "configuration param 'monitor.foo' not declared in the schema"
//   "monitor.check_interval: must be a number > 0: value was \"fast\""
// (the value part only for truthy values). Our own formats word the rules.
const UNDECLARED = /^configuration param '(.*)' not declared in the schema$/;
const MISSING = /^configuration param '(.*)' missing from config/;
const INVALID = /^([^:]+): (.*?)(?:: value was .*)?$/;

function parseLine(line: string): { key: string; rule: string } | undefined {
  const undeclared = UNDECLARED.exec(line)?.[1];
  if (undeclared !== undefined) return { key: undeclared, rule: 'unknown key' };
  const missing = MISSING.exec(line)?.[1];
  if (missing !== undefined) return { key: missing, rule: 'is missing' };
  const [, key, rule] = INVALID.exec(line) ?? [];
  return key === undefined || rule === undefined ? undefined : { key, rule };
}

/**
 * Runs convict's strict validation and turns its message into details naming
 * where each bad value was set.
 */
export function convictDetails(conf: { validate(opts: convict.ValidateOptions): unknown }, locate: (key: string) => Located): ConfigErrorDetail[] {
  try {
    conf.validate({ allowed: 'strict' });
    return [];
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return message
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line): ConfigErrorDetail => {
        const parsed = parseLine(line);
        if (parsed === undefined) return { file: 'configuration', key: '(unknown)', rule: line };
        const { key, setting } = locate(parsed.key);
        return {
          file: setting?.file ?? 'defaults',
          ...(setting?.line === undefined ? {} : { line: setting.line }),
          key,
          ...(setting === undefined ? {} : { value: setting.value }),
          rule: parsed.rule,
        };
      });
  }
}
