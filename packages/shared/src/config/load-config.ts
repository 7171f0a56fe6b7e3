import { ConfigError, type ConfigErrorDetail } from '../errors/index.js';
import type { LoadConfigOptions, ProcessConfig, ServiceManagerKind, SmgrConfig } from './config-types.js';
import type { ConfigReport, EffectiveSection, EffectiveSetting } from './effective-settings.js';
import { GLOBAL_SCHEMA, GLOBAL_SECTIONS, PROCESS_SCHEMA } from './config-schema.js';
import { applyEnv, applyFile, applyOverride, type Layers } from './config-layers.js';
import { suggestKey, tidy } from './config-problems.js';
import { checkApiTls, checkTls, validateGlobals, validateNamed, validateProcess } from './config-validate.js';
import { deepFreeze } from './deep-freeze.js';
import type { Setting } from './setting.js';
import { toGlobalConfig, toProcessConfig } from './typed-config.js';
import { NAMED_PREFIXES, NAMED_SCHEMA } from './named-schema.js';
import { toNamedConfig } from './named-config.js';

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
