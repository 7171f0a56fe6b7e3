import type { SmgrConfig } from './config-types.js';
import { COMMAND_KEYS, findSpec } from './config-schema.js';

/** Which daemon reads a config: each uses only some of its sections. */
export type DaemonRole = 'agent' | 'controller';

/** One setting in the file's own terms: its INI key and the value in the unit written there. */
export interface EffectiveSetting {
  readonly key: string;
  /** As validated: seconds stay seconds, commands stay text, lists stay lists. */
  readonly value: unknown;
  /** Where it was set (a file and line, "environment" or "command line"); absent for a built-in default. */
  readonly origin?: { readonly file: string; readonly line?: number };
  /** For a process setting: the section that set it (`process.default` when inherited). */
  readonly section?: string;
}

/** A section with every key of the schema, set or defaulted. */
export interface EffectiveSection {
  /** `database`, ..., `process.default`, `process.NAME`. */
  readonly name: string;
  readonly settings: readonly EffectiveSetting[];
}

/** What `loadConfigReport` returns. */
export interface ConfigReport {
  readonly config: SmgrConfig;
  /** Global sections in schema order, then `process.default`, then processes in file order. */
  readonly sections: readonly EffectiveSection[];
}

/**
 * The sections (and, where only some are read, the keys) each daemon uses.
 * The agent reads its own [process.NAME] sections (with [process.default]
 * folded into each) and only the breaker keys of [monitor].
 */
const USED: Record<DaemonRole, { globals: Record<string, readonly string[] | 'all'>; processes: boolean; named: readonly string[] }> = {
  agent: {
    globals: { monitor: ['max_restart_failures', 'circuit_reset_time'], logging: 'all', agent: 'all', tls: 'all' },
    processes: true,
    named: ['log_rule'],
  },
  controller: {
    globals: { database: 'all', monitor: 'all', logging: 'all', redis: 'all', controller: 'all', api: 'all', tls: 'all', notify: 'all' },
    processes: false,
    named: ['receiver', 'route'],
  },
};

/** The sections `role` reads, with only the keys it reads; all of them when no role is given. */
export function sectionsUsedBy(sections: readonly EffectiveSection[], role: DaemonRole | undefined): EffectiveSection[] {
  if (role === undefined) return [...sections];
  const used = USED[role];
  const out: EffectiveSection[] = [];
  for (const section of sections) {
    if (section.name.startsWith('process.')) {
      if (used.processes && section.name !== 'process.default') out.push(section);
      continue;
    }
    const dot = section.name.indexOf('.');
    if (dot > 0) {
      if (used.named.includes(section.name.slice(0, dot))) out.push(section);
      continue;
    }
    const keys = used.globals[section.name];
    if (keys === undefined) continue;
    out.push(keys === 'all' ? section : { ...section, settings: section.settings.filter((s) => keys.includes(s.key)) });
  }
  return out;
}

const MASK = '***';

/** The value to show: secrets masked (passwords, URL credentials, environment values of hooks). */
export function maskedValue(section: string, key: string, value: unknown): unknown {
  const specSection = section.startsWith('process.') ? 'process' : section;
  if (findSpec(specSection, key)?.sensitive === true) return value === '' ? value : MASK;
  if (section === 'redis' && key === 'url' && typeof value === 'string') return maskUrlCredentials(value);
  // A Slack incoming-webhook URL is its own secret (the path is the token).
  if (section.startsWith('receiver.') && key === 'url' && typeof value === 'string') return maskUrlPath(value);
  if (specSection === 'process' && key === 'env' && Array.isArray(value)) {
    return value.map((e) => (typeof e === 'string' ? `${e.split('=')[0] ?? ''}=${MASK}` : e));
  }
  return value;
}

/** `redis://user:secret@host` → `redis://user:***@host`; a lone user part may be a token, so it is masked too. */
export function maskUrlCredentials(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return `${scheme}${colon < 0 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`}@`;
    })
    .replace(/([?&]password=)[^&#]*/i, `$1${MASK}`);
}

/** `https://hooks.example/services/T0/B0/XyZ` → `https://hooks.example/***`. */
export function maskUrlPath(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && u.search === '' ? `${u.protocol}//${u.host}/` : `${u.protocol}//${u.host}/${MASK}`;
  } catch {
    return url === '' ? url : MASK;
  }
}

function renderScalar(key: string, value: unknown): string {
  if (typeof value !== 'string') return String(value);
  // Commands are read verbatim, so they are written verbatim; other text is quoted where INI would cut or trim it.
  if (COMMAND_KEYS.has(key)) return value;
  return /[;#"']|^\s|\s$/.test(value) ? JSON.stringify(value) : value;
}

/**
 * The effective settings as INI, in the file's own key names and units
 * (`check_interval = 300`), secrets masked; only what `role` uses.
 * Settings not in the file are marked `# default` (# keeps commands re-readable); env and --set are named.
 */
export function formatEffectiveSettings(sections: readonly EffectiveSection[], role?: DaemonRole): string {
  const out: string[] = [];
  for (const section of sectionsUsedBy(sections, role)) {
    if (out.length > 0) out.push('');
    out.push(`[${section.name}]`);
    for (const s of section.settings) {
      const note = noteFor(section.name, s);
      const value = maskedValue(section.name, s.key, s.value);
      if (Array.isArray(value) && value.length > 0) {
        for (const [i, v] of value.entries()) out.push(`${s.key}[] = ${renderScalar(s.key, v)}${i === 0 ? note : ''}`);
      } else {
        const text = Array.isArray(value) ? '' : renderScalar(s.key, value);
        out.push(`${s.key} =${text === '' ? '' : ` ${text}`}${note}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

function noteFor(sectionName: string, s: EffectiveSetting): string {
  if (s.origin === undefined) return '  # default';
  if (s.section !== undefined && s.section !== sectionName) return `  # from [${s.section}]`;
  if (s.origin.line === undefined) return `  # from ${s.origin.file}`;
  return '';
}
