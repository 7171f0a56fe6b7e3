/** Validates layered settings against the schema with convict, and the cross-key TLS rules (load-config.ts). */
import convict from 'convict';
import { ConfigError, type ConfigErrorDetail } from '../errors/index.js';
import { parseCommand, type Command, type CommandList } from '../command/index.js';
import { COMMAND_KEYS, globalConvictSchema, isGlobalSection, namedConvictSchema, processConvictSchema, type GlobalSection } from './config-schema.js';
import { whereOf, type Layers } from './config-layers.js';
import { convictDetails } from './convict-details.js';
import type { NamedPrefix } from './named-schema.js';
import { parseActions, type NamedSection } from './named-config.js';
import { lookup, plain, type Layer, type Setting, type Values } from './setting.js';

export function validateGlobals(globals: Map<GlobalSection, Layer>, details: ConfigErrorDetail[]): Record<GlobalSection, Values> {
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

export interface ValidatedProcess {
  /** Typed values, commands parsed into argv. */
  values: Values;
  /** Values in the file's terms (commands as written). */
  raw: Values;
  /** Which layer ('default' or the process's own NAME) set a key, and how. */
  owners: (key: string) => { label: string; setting: Setting | undefined };
}

/** Validates one process through its layers; command strings are parsed into argv here. */
export function validateProcess(name: string, layers: Layer[], details: ConfigErrorDetail[]): ValidatedProcess {
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
export function validateNamed(layers: Layers, source: string, details: ConfigErrorDetail[]): Map<NamedPrefix, NamedSection[]> {
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

export function checkTls(tls: Values, layers: Layers, source: string, details: ConfigErrorDetail[]): void {
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
export function checkApiTls(g: Record<GlobalSection, Values>, layers: Layers, source: string, details: ConfigErrorDetail[]): void {
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
