import convict from 'convict';
import { ConfigError, type ConfigErrorDetail } from '../errors/index.js';
import { parseCommand, type Command, type CommandList } from '../command/index.js';
import type { LoadConfigOptions, ProcessConfig, ServiceManagerKind, SmgrConfig } from './config-types.js';
import type { ConfigReport, EffectiveSection, EffectiveSetting } from './effective-settings.js';
import { readConfigFile } from './config-file.js';
import {
  COMMAND_KEYS,
  GLOBAL_SCHEMA,
  GLOBAL_SECTIONS,
  envVarName,
  findSpec,
  globalConvictSchema,
  isGlobalSection,
  PROCESS_SCHEMA,
  processConvictSchema,
  type GlobalSection,
} from './config-schema.js';
import { convictDetails } from './convict-details.js';
import { deepFreeze } from './deep-freeze.js';
import { withSuggestion } from './did-you-mean.js';
import { maskUrlCredentials, maskUrlPath } from './effective-settings.js';
import { lookup, plain, type Layer, type Setting, type Values } from './setting.js';
import { toGlobalConfig, toProcessConfig } from './typed-config.js';
import { NAMED_PREFIXES, NAMED_SCHEMA, isNamedPrefix, type NamedPrefix } from './named-schema.js';
import { parseActions, toNamedConfig, type NamedSection } from './named-config.js';
import { namedConvictSchema } from './config-schema.js';

/** Keys read verbatim (shell quoting kept): the command keys and `action[]` entries. */
const VERBATIM_KEYS: ReadonlySet<string> = new Set([...COMMAND_KEYS, 'action']);

const ENVIRONMENT = 'environment';
const COMMAND_LINE = 'command line';
const MAX_PROCESS_NAME = 100;

/**
 * Loads, validates and freezes the configuration.
 *
 * Precedence: built-in defaults < file < `SMGR_<SECTION>_<KEY>` environment
 * < `overrides`; for a process: built-in < [process.default] < [process.NAME]
 * (overrides of `process.default.*` change the defaults layer). Unknown keys
 * and sections are errors. Every problem found is reported at once.
 *
 * @throws ConfigError whose details name file (or "environment" / "command
 *   line"), `section.key`, the value and the rule broken
 */
export function loadConfig(opts: LoadConfigOptions = {}): SmgrConfig {
  return loadConfigReport(opts).config;
}

/**
 * `loadConfig`, plus the effective settings in the file's own terms (key
 * names and units as written, where each was set) for `--check-config` and
 * start-up warnings.
 *
 * @throws ConfigError as `loadConfig`
 */
export function loadConfigReport(opts: LoadConfigOptions = {}): ConfigReport {
  const source = opts.file ?? 'defaults';
  const details: ConfigErrorDetail[] = [];
  const layers: Layers = {
    globals: new Map(GLOBAL_SECTIONS.map((s) => [s, new Map()])),
    // 'default' first so it is layered under every named process; the rest keep file order.
    processes: new Map([['default', new Map()]]),
    named: new Map(NAMED_PREFIXES.map((p) => [p, new Map()])),
    headers: new Map(),
  };

  if (opts.file !== undefined) {
    applyFile(opts.file, opts.requireSections ?? [], layers, details);
  } else {
    for (const required of opts.requireSections ?? []) {
      details.push({ file: source, key: required, rule: `required section [${required}] is missing (no config file given)` });
    }
  }
  applyEnv(opts.env ?? process.env, layers);
  for (const text of opts.overrides ?? []) applyOverride(text, layers, details);

  const globalValues = validateGlobals(layers.globals, details);
  const defaultsLayer = layers.processes.get('default') ?? new Map<string, Setting>();
  const processValues = [...layers.processes].map(([name, own]) => {
    const processLayers = name === 'default' ? [own] : [defaultsLayer, own];
    return { name, ...validateProcess(name, processLayers, details) };
  });
  checkTls(globalValues.tls, layers, source, details);
  checkApiTls(globalValues, layers, source, details);
  const namedValues = validateNamed(layers, source, details);
  const namedConfig = toNamedConfig(namedValues, new Set([...layers.processes.keys()].filter((n) => n !== 'default')), details);

  if (details.length > 0) throw new ConfigError(tidy(details.map(suggestKey)));

  const agentServiceManager = globalValues.agent.service_manager as ServiceManagerKind;
  const [defaults, ...named] = processValues.map(({ name, values }) => toProcessConfig(name, values, agentServiceManager));
  const config = deepFreeze({
    source,
    ...toGlobalConfig(globalValues),
    ...namedConfig,
    processDefaults: defaults as ProcessConfig,
    processes: named,
  });
  const sections: EffectiveSection[] = GLOBAL_SECTIONS.map((section) => ({
    name: section,
    settings: GLOBAL_SCHEMA[section].map((spec) => effective(spec.key, globalValues[section][spec.key], layers.globals.get(section)?.get(spec.key))),
  }));
  for (const [prefix, list] of namedValues) {
    for (const { name, values } of list) {
      const layer = layers.named.get(prefix)?.get(name);
      sections.push({ name: `${prefix}.${name}`, settings: NAMED_SCHEMA[prefix].map((spec) => effective(spec.key, values[spec.key], layer?.get(spec.key))) });
    }
  }
  for (const { name, raw, owners } of processValues) {
    sections.push({
      name: `process.${name}`,
      settings: PROCESS_SCHEMA.map((spec) => {
        const owner = owners(spec.key);
        return {
          ...effective(spec.key, raw[spec.key], owner.setting),
          ...(owner.setting === undefined ? {} : { section: `process.${owner.label}` }),
        };
      }),
    });
  }
  return deepFreeze({ config, sections });
}

function effective(key: string, value: unknown, setting: Setting | undefined): EffectiveSetting {
  if (setting === undefined) return { key, value };
  return { key, value, origin: { file: setting.file, ...(setting.line === undefined ? {} : { line: setting.line }) } };
}

/** Adds "did you mean" to an unknown key, from the keys of its own section. */
function suggestKey(d: ConfigErrorDetail): ConfigErrorDetail {
  if (d.rule !== 'unknown key') return d;
  const dot = d.key.lastIndexOf('.');
  const section = d.key.slice(0, d.key.indexOf('.'));
  const known = isGlobalSection(section)
    ? GLOBAL_SCHEMA[section]
    : section === 'process'
      ? PROCESS_SCHEMA
      : isNamedPrefix(section)
        ? NAMED_SCHEMA[section]
        : [];
  return {
    ...d,
    rule: withSuggestion(
      d.rule,
      d.key.slice(dot + 1),
      known.map((s) => s.key),
    ),
  };
}

/** "unknown section [x]", with "did you mean" among the global sections and [process.NAME]. */
function unknownSectionRule(section: string): string {
  const rule = `unknown section [${section}]`;
  const dot = section.indexOf('.');
  if (dot > 0) {
    const rest = section.slice(dot + 1);
    return withSuggestion(rule, section.slice(0, dot), ['process'], (w) => `[${w}.${rest}]`);
  }
  if (isNamedPrefix(section)) return `[${section}] needs a name: write [${section}.NAME]`;
  return withSuggestion(rule, section, GLOBAL_SECTIONS, (w) => `[${w}]`);
}

/** Every layer before validation: global sections, and processes by NAME ('default' included). */
interface Layers {
  globals: Map<GlobalSection, Layer>;
  processes: Map<string, Layer>;
  /** [receiver.NAME], [route.NAME], [log_rule.NAME] by prefix, then NAME (file order). */
  named: Map<NamedPrefix, Map<string, Layer>>;
  /** Where each file section's header is, so a missing key can point at its section. */
  headers: Map<string, { file: string; line?: number }>;
}

function applyFile(file: string, requireSections: readonly string[], layers: Layers, details: ConfigErrorDetail[]): void {
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

function applyEnv(env: Record<string, string | undefined>, layers: Layers): void {
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
type Where = { file: string; line?: number };

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
function applyOverride(text: string, layers: Layers, details: ConfigErrorDetail[]): void {
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

function validateGlobals(globals: Map<GlobalSection, Layer>, details: ConfigErrorDetail[]): Record<GlobalSection, Values> {
  const conf = convict<Record<string, Values>>(globalConvictSchema(), { env: {}, args: [] });
  const input: Record<string, Values> = {};
  for (const [section, layer] of globals) input[section] = plain(layer);
  conf.load(input);
  details.push(
    ...convictDetails(conf, (key) => {
      const dot = key.indexOf('.');
      const section = key.slice(0, dot);
      const setting = isGlobalSection(section) ? lookup(globals.get(section), key.slice(dot + 1)) : undefined;
      return { key, setting };
    }),
  );
  return conf.getProperties() as Record<GlobalSection, Values>;
}

interface ValidatedProcess {
  /** Typed values, commands parsed into argv. */
  values: Values;
  /** Values in the file's terms (commands as written). */
  raw: Values;
  /** Which layer ('default' or the process's own NAME) set a key, and how. */
  owners: (key: string) => { label: string; setting: Setting | undefined };
}

/** Validates one process through its layers; command strings are parsed into argv here. */
function validateProcess(name: string, layers: Layer[], details: ConfigErrorDetail[]): ValidatedProcess {
  const conf = convict<Values>(processConvictSchema(), { env: {}, args: [] });
  for (const layer of layers) conf.load(plain(layer));
  // A bad value inherited from [process.default] is reported once, under process.default.
  const owner = (key: string): { label: string; setting: Setting | undefined } => {
    for (let i = layers.length - 1; i >= 0; i -= 1) {
      const setting = lookup(layers[i], key);
      if (setting !== undefined) return { label: i === layers.length - 1 ? name : 'default', setting };
    }
    return { label: name, setting: undefined };
  };
  details.push(
    ...convictDetails(conf, (key) => {
      const { label, setting } = owner(key);
      return { key: `process.${label}.${key}`, setting };
    }),
  );

  const values = conf.getProperties();
  const raw = { ...values };
  for (const key of COMMAND_KEYS) {
    const { label, setting } = owner(key);
    try {
      values[key] = toCommandList(values[key], { file: setting?.file ?? 'defaults', key: `process.${label}.${key}` });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const line = setting?.line;
      details.push(...err.details.map((d) => (line === undefined ? d : { ...d, line })));
    }
  }
  const { label, setting } = owner('action');
  try {
    values['action'] = parseActions(values['action'], {
      file: setting?.file ?? 'defaults',
      key: `process.${label}.action`,
      ...(setting?.line === undefined ? {} : { line: setting.line }),
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    details.push(...err.details);
    values['action'] = [];
  }
  return { values, raw, owners: owner };
}

/** Validates every [receiver.NAME], [route.NAME], [log_rule.NAME] section on its own (cross-section rules: named-config.ts). */
function validateNamed(layers: Layers, source: string, details: ConfigErrorDetail[]): Map<NamedPrefix, NamedSection[]> {
  const out = new Map<NamedPrefix, NamedSection[]>();
  for (const [prefix, byName] of layers.named) {
    const list: NamedSection[] = [];
    for (const [name, layer] of byName) {
      const conf = convict<Values>(namedConvictSchema(prefix), { env: {}, args: [] });
      conf.load(plain(layer));
      details.push(...convictDetails(conf, (key) => ({ key: `${prefix}.${name}.${key}`, setting: lookup(layer, key) })));
      const header = layers.headers.get(`${prefix}.${name}`) ?? { file: source };
      const where = (key: string) => {
        const s = layer.get(key);
        if (s === undefined) return header;
        return s.line === undefined ? { file: s.file } : { file: s.file, line: s.line };
      };
      list.push({ name, values: conf.getProperties(), where });
    }
    out.set(prefix, list);
  }
  return out;
}

function toCommandList(value: unknown, where: { file: string; key: string }): CommandList {
  if (typeof value === 'string') return value.trim() === '' ? [] : [parseCommand(value, where)];
  // Anything else already failed validation; parse what can be parsed so all errors show at once.
  if (!Array.isArray(value)) return [];
  const list: Command[] = [];
  const details: ConfigErrorDetail[] = [];
  for (const item of value) {
    if (typeof item !== 'string') continue;
    try {
      list.push(parseCommand(item, where));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      details.push(...err.details);
    }
  }
  if (details.length > 0) throw new ConfigError(details);
  return list;
}

/** Where to point for a key that is missing or empty: its own line, else its section's header. */
function whereOf(layers: Layers, section: GlobalSection, key: string, source: string): Where {
  const setting = layers.globals.get(section)?.get(key);
  if (setting !== undefined) return setting.line === undefined ? { file: setting.file } : { file: setting.file, line: setting.line };
  return layers.headers.get(section) ?? { file: source };
}

function checkTls(tls: Values, layers: Layers, source: string, details: ConfigErrorDetail[]): void {
  if (tls.insecure !== false) return;
  for (const key of ['ca', 'cert', 'key']) {
    if (tls[key] !== '') continue;
    const setting = layers.globals.get('tls')?.get(key);
    details.push({
      ...whereOf(layers, 'tls', key, source),
      key: `tls.${key}`,
      ...(setting === undefined ? {} : { value: setting.value }),
      rule: 'required unless tls.insecure = true',
    });
  }
}

/** An enabled API serves HTTPS (api.cert/key, else tls.cert/key) unless api.insecure. */
function checkApiTls(g: Record<GlobalSection, Values>, layers: Layers, source: string, details: ConfigErrorDetail[]): void {
  if (g.api.enabled !== true || g.api.insecure !== false) return;
  for (const key of ['cert', 'key']) {
    if (g.api[key] !== '' || g.tls[key] !== '') continue;
    details.push({
      ...whereOf(layers, 'api', key, source),
      key: `api.${key}`,
      rule: `required when api.enabled = true (or set tls.${key}), unless api.insecure = true`,
    });
  }
}

/** Drops repeated details and the values of secret settings (they must not reach logs). */
function tidy(details: ConfigErrorDetail[]): ConfigErrorDetail[] {
  const seen = new Set<string>();
  return details.map(redact).filter((d) => {
    const id = JSON.stringify([d.file, d.key, d.value, d.rule]);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function redact(d: ConfigErrorDetail): ConfigErrorDetail {
  if (d.value === undefined) return d;
  const section = d.key.slice(0, d.key.indexOf('.'));
  const key = d.key.slice(d.key.lastIndexOf('.') + 1);
  if (d.key === 'redis.url' && typeof d.value === 'string') return { ...d, value: maskUrlCredentials(d.value) };
  if (section === 'receiver' && key === 'url' && typeof d.value === 'string') return { ...d, value: maskUrlPath(d.value) };
  // Hook environments (env[] = KEY=VALUE) carry secrets as often as not.
  const secret = findSpec(section, key)?.sensitive === true || (section === 'process' && key === 'env');
  if (!secret) return d;
  const { value: _secret, ...rest } = d;
  return rest;
}
