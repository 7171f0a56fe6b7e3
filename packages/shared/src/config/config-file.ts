import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigErrorDetail } from '../errors/index.js';
import { readIni } from './ini-reader.js';

/** A value as written and, for INI files, its line. */
export interface FileValue {
  /** INI values are text (lists for key[]); JSON keeps its types. */
  value: unknown;
  line?: number;
}

/** A section's keys in file order. */
export type SectionValues = Map<string, FileValue>;

/** One section of a config file; process sections are named `process.NAME`. */
export interface FileSection {
  /** Line of its header (INI only). */
  line?: number;
  values: SectionValues;
}

/** A config file split into sections. */
export interface ConfigFileContents {
  /** In file order. */
  readonly sections: Map<string, FileSection>;
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
  if (file.toLowerCase().endsWith('.json')) return parseJsonConfig(text, file);
  const doc = readIni(text, { file, verbatimKeys });
  const sections = new Map<string, FileSection>();
  for (const [name, section] of doc.sections) {
    const values: SectionValues = new Map();
    for (const [key, entry] of section.entries) values.set(key, { value: entry.value, line: entry.line });
    sections.set(name, { line: section.line, values });
  }
  return { sections, problems: doc.problems };
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
  const sections = new Map<string, FileSection>();
  const problems: ConfigErrorDetail[] = [];
  const add = (name: string, value: unknown): void => {
    if (isObject(value)) {
      sections.set(name, { values: new Map(Object.entries(value).map(([k, v]) => [k, { value: v }])) });
    } else {
      problems.push({ file, key: name, value, rule: 'must be a section (an object of settings)' });
    }
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
