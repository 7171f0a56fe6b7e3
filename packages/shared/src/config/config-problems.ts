/** Turns config problems into what an operator reads: suggestions for typos, no repeats, no secrets. */
import type { ConfigErrorDetail } from '../errors/index.js';
import { GLOBAL_SCHEMA, GLOBAL_SECTIONS, PROCESS_SCHEMA, findSpec, isGlobalSection } from './config-schema.js';
import { withSuggestion } from './did-you-mean.js';
import { maskUrlCredentials, maskUrlPath } from './effective-settings.js';
import { NAMED_SCHEMA, isNamedPrefix } from './named-schema.js';

/** Adds "did you mean" to an unknown key, from the keys of its own section. */
export function suggestKey(d: ConfigErrorDetail): ConfigErrorDetail {
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
export function unknownSectionRule(section: string): string {
  const rule = `unknown section [${section}]`;
  const dot = section.indexOf('.');
  if (dot > 0) {
    const rest = section.slice(dot + 1);
    return withSuggestion(rule, section.slice(0, dot), ['process'], (w) => `[${w}.${rest}]`);
  }
  if (isNamedPrefix(section)) return `[${section}] needs a name: write [${section}.NAME]`;
  return withSuggestion(rule, section, GLOBAL_SECTIONS, (w) => `[${w}]`);
}

/** Drops repeated details and the values of secret settings (they must not reach logs). */
export function tidy(details: ConfigErrorDetail[]): ConfigErrorDetail[] {
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
