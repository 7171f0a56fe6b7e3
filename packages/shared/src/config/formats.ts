import convict from 'convict';
import { parseAutoApprove } from './auto-approve.js';
import { parsePercent, parseSize, PERCENT_RULE, SIZE_RULE } from './resource-units.js';

/**
 * convict formats for smgr settings. convict's built-ins coerce loosely
 * (`parseInt('12abc')` is 12, any boolean text but "false" is true), so each
 * format here coerces strictly and leaves text it cannot read untouched; the
 * validator then rejects it and the error shows the value as written.
 *
 * Bounds and choices are read from the schema item (`min`, `minExclusive`,
 * `max`, `values`), which convict passes to the validator.
 */
export const Format = {
  string: 'smgr-string',
  number: 'smgr-number',
  int: 'smgr-int',
  bool: 'smgr-bool',
  choice: 'smgr-choice',
  hostPort: 'smgr-host-port',
  hostPortList: 'smgr-host-port-list',
  labels: 'smgr-labels',
  redisUrl: 'smgr-redis-url',
  commands: 'smgr-commands',
  envList: 'smgr-env-list',
  stringList: 'smgr-string-list',
  autoApprove: 'smgr-auto-approve',
  /** '' or a size with a unit (200M): resource rules. */
  size: 'smgr-size',
  /** '' or a CPU percentage (90%): resource rules. */
  percent: 'smgr-percent',
} as const;
export type FormatName = (typeof Format)[keyof typeof Format];

/** Bounds and choices a schema item may carry for its format. */
export interface FormatParams {
  min?: number;
  /** `min` itself is not allowed (e.g. an interval must be > 0). */
  minExclusive?: boolean;
  max?: number;
  /** Allowed values of a `choice`; '' in the list means "may be left empty". */
  values?: readonly string[];
}

const NUMBER_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const INT_TEXT = /^[+-]?\d+$/;
const TRUE_TEXT = new Set(['true', 'yes', 'on', '1']);
const FALSE_TEXT = new Set(['false', 'no', 'off', '0']);
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]*$/;
const ENV_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*=/;

function fail(rule: string): never {
  throw new Error(rule);
}

function boundsRule(kind: string, p: FormatParams): string {
  if (p.min !== undefined && p.max !== undefined) return `must be ${kind} from ${p.min} to ${p.max}`;
  if (p.min !== undefined) return `must be ${kind} ${p.minExclusive === true ? '>' : '>='} ${p.min}`;
  return `must be ${kind}`;
}

function checkBounds(x: number, p: FormatParams, rule: string): void {
  if (p.min !== undefined && (p.minExclusive === true ? x <= p.min : x < p.min)) fail(rule);
  if (p.max !== undefined && x > p.max) fail(rule);
}

/** "host:port" with a port 0-65535; IPv6 hosts in brackets. */
export function isHostPort(text: string): boolean {
  const m = HOST_PORT.exec(text);
  return m !== null && Number(m[1]) <= 65535;
}

/** redis://, rediss:// or unix:// with an absolute socket path (unix:///run/redis.sock). */
export function isRedisUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const u = new URL(text);
  if (u.protocol === 'unix:') return u.host === '' && u.pathname.length > 1 && u.pathname.startsWith('/');
  return /^rediss?:\/\//.test(text);
}

/** Splits "host:port[,host:port]"; undefined when any entry is malformed or the list is empty. */
export function parseHostPortList(text: string): string[] | undefined {
  const entries = text.split(',').map((s) => s.trim());
  return entries.every(isHostPort) ? entries : undefined;
}

/** Parses "k=v,k2=v2" ('' is no labels); undefined when malformed or a key repeats. */
export function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  if (text.trim() === '') return labels;
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq < 0) return undefined;
    const key = entry.slice(0, eq).trim();
    if (!LABEL_KEY.test(key) || Object.hasOwn(labels, key)) return undefined;
    labels[key] = entry.slice(eq + 1).trim();
  }
  return labels;
}

/** A numeric format: text matching `text` coerces to a number, which must pass `isValid` and the key's bounds. */
function numeric(what: string, text: RegExp, isValid: (x: number) => boolean): convict.Format {
  return {
    coerce: (x: string) => (text.test(x.trim()) ? Number(x) : x),
    validate(x: unknown, schema: convict.SchemaObj) {
      const p = schema as FormatParams;
      const rule = boundsRule(what, p);
      if (typeof x !== 'number' || !isValid(x)) fail(rule);
      checkBounds(x, p, rule);
    },
  };
}

const formats: Record<FormatName, convict.Format> = {
  [Format.string]: {
    validate(x: unknown) {
      if (typeof x !== 'string') fail('must be a string');
    },
  },
  [Format.number]: numeric('a number', NUMBER_TEXT, Number.isFinite),
  [Format.int]: numeric('an integer', INT_TEXT, Number.isSafeInteger),
  [Format.bool]: {
    coerce: (x: string) => {
      const t = x.trim().toLowerCase();
      return TRUE_TEXT.has(t) ? true : FALSE_TEXT.has(t) ? false : x;
    },
    validate(x: unknown) {
      if (typeof x !== 'boolean') fail('must be true or false');
    },
  },
  [Format.choice]: {
    validate(x: unknown, schema: convict.SchemaObj) {
      const p = schema as FormatParams;
      const values = p.values ?? [];
      if (typeof x === 'string' && values.includes(x)) return;
      const named = values.filter((v) => v !== '').join(', ');
      fail(`must be one of ${named}${values.includes('') ? ' (or empty)' : ''}`);
    },
  },
  [Format.hostPort]: {
    validate(x: unknown) {
      if (typeof x !== 'string' || !isHostPort(x)) fail('must be host:port with a port from 0 to 65535');
    },
  },
  [Format.hostPortList]: {
    validate(x: unknown) {
      if (typeof x !== 'string' || parseHostPortList(x) === undefined) {
        fail('must be a comma-separated list of host:port');
      }
    },
  },
  [Format.labels]: {
    validate(x: unknown) {
      if (typeof x !== 'string' || parseLabels(x) === undefined) {
        fail('must be a comma-separated list of key=value with distinct keys made of letters, digits, . _ - /');
      }
    },
  },
  [Format.redisUrl]: {
    validate(x: unknown) {
      if (typeof x !== 'string' || !isRedisUrl(x)) {
        fail('must be a URL starting with redis:// or rediss://, or unix:///path/to/redis.sock');
      }
    },
  },
  [Format.commands]: {
    validate(x: unknown) {
      const ok = typeof x === 'string' || (Array.isArray(x) && x.every((c) => typeof c === 'string'));
      if (!ok) fail('must be a command string or a list of command strings');
    },
  },
  [Format.autoApprove]: {
    validate(x: unknown) {
      if (typeof x !== 'string' || parseAutoApprove(x) === undefined) {
        fail("must be '*', 'none', or a comma-separated list of host-id globs (web*) and key=value label terms");
      }
    },
  },
  [Format.size]: {
    validate(x: unknown) {
      if (typeof x !== 'string' || (x.trim() !== '' && parseSize(x) === undefined)) fail(SIZE_RULE);
    },
  },
  [Format.percent]: {
    validate(x: unknown) {
      if (typeof x !== 'string' || (x.trim() !== '' && parsePercent(x) === undefined)) fail(PERCENT_RULE);
    },
  },
  [Format.stringList]: {
    coerce: (x: string) => (x.trim() === '' ? [] : [x]),
    validate(x: unknown) {
      const ok = Array.isArray(x) && x.every((e) => typeof e === 'string');
      if (!ok) fail('must be a list of text entries (key[] = lines)');
    },
  },
  [Format.envList]: {
    coerce: (x: string) => (x.trim() === '' ? [] : [x]),
    validate(x: unknown) {
      const ok = Array.isArray(x) && x.every((e) => typeof e === 'string' && ENV_ENTRY.test(e));
      if (!ok) fail('must be a list of KEY=VALUE strings');
    },
  },
};

// convict keeps formats in one module-wide registry; the smgr- prefix keeps
// ours apart from any other user of convict in the same process.
convict.addFormats(formats);
