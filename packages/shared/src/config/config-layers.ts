/** Collects settings into layers, by section, from the file, the environment and the command line (load-config.ts). */
import type { ConfigErrorDetail } from '../errors/index.js';
import { readConfigFile } from './config-file.js';
import { COMMAND_KEYS, GLOBAL_SCHEMA, GLOBAL_SECTIONS, envVarName, findSpec, isGlobalSection, type GlobalSection } from './config-schema.js';
import { unknownSectionRule } from './config-problems.js';
import { isNamedPrefix, type NamedPrefix } from './named-schema.js';
import type { Layer } from './setting.js';

/** Keys read verbatim (shell quoting kept): the command keys and `action[]` entries. */
const VERBATIM_KEYS: ReadonlySet<string> = new Set([...COMMAND_KEYS, 'action']);

const ENVIRONMENT = 'environment';
const COMMAND_LINE = 'command line';
const MAX_PROCESS_NAME = 100;

/** Every layer before validation: global sections, and processes by NAME ('default' included). */
export interface Layers {
  globals: Map<GlobalSection, Layer>;
  processes: Map<string, Layer>;
  /** [receiver.NAME], [route.NAME], [log_rule.NAME] by prefix, then NAME (file order). */
  named: Map<NamedPrefix, Map<string, Layer>>;
  /** Where each file section's header is, so a missing key can point at its section. */
  headers: Map<string, { file: string; line?: number }>;
}

export function applyFile(file: string, requireSections: readonly string[], layers: Layers, details: ConfigErrorDetail[]): void {
  const contents = readConfigFile(file, VERBATIM_KEYS);
  details.push(...contents.problems);
  for (const required of requireSections) {
    if (!contents.sections.has(required)) {
      details.push({ file, key: required, rule: `required section [${required}] is missing` });
    }
  }
  for (const [section, { line: headerLine, values }] of contents.sections) {
    const at = (line: number | undefined) => (line === undefined ? { file } : { file, line });
    layers.headers.set(section, at(headerLine));
    const layer = sectionLayer(section, at(headerLine), layers, details);
    for (const [key, { value, line }] of values) {
      if (layer === undefined) {
        if (section === 'process') {
          details.push({ ...at(line), key: `process.${key}`, value, rule: 'unknown key; process settings go in [process.default] or [process.NAME]' });
        }
      } else if (isNestedObject(value)) {
        // convict would descend into it (and crash on a known key); no smgr setting is an object.
        const rule = findSpec(section, key) === undefined ? 'unknown key' : 'must be a single value or a list, not an object';
        details.push({ ...at(line), key: `${section}.${key}`, value, rule });
      } else {
        layer.set(key, { ...at(line), value });
      }
    }
  }
}

export function applyEnv(env: Record<string, string | undefined>, layers: Layers): void {
  for (const section of GLOBAL_SECTIONS) {
    for (const spec of GLOBAL_SCHEMA[section]) {
      const value = env[envVarName(section, spec.key)];
      if (value !== undefined) layers.globals.get(section)?.set(spec.key, { file: ENVIRONMENT, value });
    }
  }
}

function isNestedObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The layer a file section's keys go to; undefined (and a detail) for unknown sections. */
export type Where = { file: string; line?: number };

function sectionLayer(section: string, where: Where, layers: Layers, details: ConfigErrorDetail[]): Layer | undefined {
  if (isGlobalSection(section)) return layers.globals.get(section);
  if (section.startsWith('process.')) return processLayer(section.slice('process.'.length), where, layers, details);
  const dot = section.indexOf('.');
  const prefix = dot < 0 ? '' : section.slice(0, dot);
  if (isNamedPrefix(prefix)) {
    const byName = layers.named.get(prefix)!;
    const name = section.slice(dot + 1);
    let layer = byName.get(name);
    if (layer === undefined) {
      layer = new Map();
      byName.set(name, layer);
    }
    return layer;
  }
  if (section !== 'process') details.push({ ...where, key: section, rule: unknownSectionRule(section) });
  return undefined;
}

function processLayer(name: string, where: Where, layers: Layers, details: ConfigErrorDetail[]): Layer | undefined {
  if (name.length === 0 || name.length > MAX_PROCESS_NAME) {
    details.push({ ...where, key: `process.${name}`, rule: `a process name must be 1 to ${MAX_PROCESS_NAME} characters` });
    return undefined;
  }
  let layer = layers.processes.get(name);
  if (layer === undefined) {
    layer = new Map();
    layers.processes.set(name, layer);
  }
  return layer;
}

/** Applies one `section.key=value` / `process.NAME.key=value` from the command line. */
export function applyOverride(text: string, layers: Layers, details: ConfigErrorDetail[]): void {
  const eq = text.indexOf('=');
  const path = eq < 0 ? text : text.slice(0, eq).trim();
  const setting = { file: COMMAND_LINE, value: text.slice(eq + 1) };
  if (path.startsWith('process.')) {
    const rest = path.slice('process.'.length);
    const dot = rest.lastIndexOf('.');
    if (eq < 0 || dot < 0) {
      details.push({ file: COMMAND_LINE, key: path, rule: 'must be written process.NAME.key=value' });
      return;
    }
    processLayer(rest.slice(0, dot), { file: COMMAND_LINE }, layers, details)?.set(rest.slice(dot + 1), setting);
    return;
  }
  const dot = path.indexOf('.');
  if (eq < 0 || dot < 0) {
    details.push({ file: COMMAND_LINE, key: path, rule: 'must be written section.key=value' });
    return;
  }
  const section = path.slice(0, dot);
  if (!isGlobalSection(section)) {
    details.push({ file: COMMAND_LINE, key: path, rule: unknownSectionRule(section) });
    return;
  }
  layers.globals.get(section)?.set(path.slice(dot + 1), setting);
}

/** Where to point for a key that is missing or empty: its own line, else its section's header. */
export function whereOf(layers: Layers, section: GlobalSection, key: string, source: string): Where {
  const setting = layers.globals.get(section)?.get(key);
  if (setting !== undefined) return setting.line === undefined ? { file: setting.file } : { file: setting.file, line: setting.line };
  return layers.headers.get(section) ?? { file: source };
}
