import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigErrorDetail } from '../errors/index.js';
import { parseIniConfig } from './ini-config.js';

/** A section's keys and values as written (ini values are text; JSON keeps its types). */
export type SectionValues = Map<string, unknown>;

/** A config file split into sections; process sections are named `process.NAME`. */
export interface ConfigFileContents {
  /** In file order. */
  readonly sections: Map<string, SectionValues>;
  /** Structural problems found while reading; the loader reports them with its own. */
  readonly problems: ConfigErrorDetail[];
}

/**
 * Reads config.ini (any name not ending in .json) or a JSON file of the same
 * shape: `{"database": {...}, "process": {"default": {...}, "nginx": {...}}}`.
 *
 * @param verbatimKeys keys whose ini values keep their quoting (commands)
 * @throws ConfigError naming the file when it cannot be read or parsed
 */
export function readConfigFile(file: string, verbatimKeys: ReadonlySet<string>): ConfigFileContents {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, key: '(file)', rule: `cannot be read: ${(err as Error).message}` }], {
      cause: err,
    });
  }
  return file.toLowerCase().endsWith('.json') ? parseJsonConfig(text, file) : parseIniConfig(text, file, verbatimKeys);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonConfig(text: string, file: string): ConfigFileContents {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([{ file, key: '(file)', rule: `is not valid JSON: ${(err as Error).message}` }], {
      cause: err,
    });
  }
  if (!isObject(parsed)) {
    throw new ConfigError([{ file, key: '(file)', rule: 'must hold a JSON object of sections' }]);
  }
  const sections = new Map<string, SectionValues>();
  const problems: ConfigErrorDetail[] = [];
  const add = (name: string, value: unknown): void => {
    if (isObject(value)) sections.set(name, new Map(Object.entries(value)));
    else problems.push({ file, key: name, value, rule: 'must be a section (an object of settings)' });
  };
  for (const [name, value] of Object.entries(parsed)) {
    if (name === 'process' && isObject(value)) {
      for (const [processName, settings] of Object.entries(value)) add(`process.${processName}`, settings);
    } else {
      add(name, value);
    }
  }
  return { sections, problems };
}
