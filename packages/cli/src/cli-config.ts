import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, formatConfigDetail, readIni, withSuggestion, type ConfigErrorDetail } from '@smgr/shared';
import { CliError } from './cli-error.js';

/** Where the CLI finds the controller API, and as whom. */
export interface CliSettings {
  url: URL;
  /** undefined: none configured (only /healthz works). */
  token: string | undefined;
  /** PEM CA bundle for an HTTPS API signed by a private CA (smgr pki). */
  ca: Buffer | undefined;
  /** Named in messages: where the token came from, never the token. */
  tokenSource: string;
}

/** What flags say; undefined where no flag was given. */
export interface CliFlags {
  url?: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
  config?: string;
}

export const DEFAULT_URL = 'https://127.0.0.1:7080';
export const DEFAULT_CONFIG_PATH = join(homedir(), '.config', 'smgr', 'cli.ini');
const KEYS = ['url', 'token', 'token_file', 'ca'] as const;
type Key = (typeof KEYS)[number];

/** `SMGR_CLI_<KEY>`, like every other smgr setting. */
export const envName = (key: Key) => `SMGR_CLI_${key.toUpperCase()}`;

/**
 * Resolves the settings with the daemons' precedence: built-in defaults <
 * the [cli] section of the config file (--config, SMGR_CLI_CONFIG, else
 * ~/.config/smgr/cli.ini when it exists) < environment (`SMGR_CLI_URL`,
 * `SMGR_CLI_TOKEN`, `SMGR_CLI_TOKEN_FILE`, `SMGR_CLI_CA`) < flags.
 * @throws CliError (exit 78) naming the file, key and rule of a bad setting
 */
export function resolveSettings(flags: CliFlags, env: Record<string, string | undefined>): CliSettings {
  const explicit = flags.config ?? env.SMGR_CLI_CONFIG;
  const path = explicit ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  const file = path === undefined ? new Map<Key, string>() : readCliConfig(path);
  const pick = (key: Key, flag: string | undefined): { value: string; from: string } | undefined => {
    if (flag !== undefined && flag !== '') return { value: flag, from: `--${key.replace('_', '-')}` };
    const e = env[envName(key)];
    if (e !== undefined && e !== '') return { value: e, from: envName(key) };
    const f = file.get(key);
    if (f !== undefined && f !== '') return { value: f, from: `${path}: ${key}` };
    return undefined;
  };

  const urlText = pick('url', flags.url)?.value ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new CliError(ExitCode.CONFIG, `url ${JSON.stringify(urlText)} is not a URL`, 'write it as https://host:port');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CliError(ExitCode.CONFIG, `url ${JSON.stringify(urlText)} must start with https:// or http://`);
  }

  // A token given directly wins over a token file at the same level; a higher level wins over both.
  let token: string | undefined;
  let tokenSource = 'none';
  const levels: [string | undefined, string | undefined, string][] = [
    [flags.token, flags.tokenFile, 'flag'],
    [env[envName('token')], env[envName('token_file')], 'env'],
    [file.get('token'), file.get('token_file'), path ?? ''],
  ];
  for (const [direct, fromFile, level] of levels) {
    if (direct !== undefined && direct !== '') {
      token = direct.trim();
      tokenSource = level === 'flag' ? '--token' : level === 'env' ? envName('token') : `${path}: token`;
      break;
    }
    if (fromFile !== undefined && fromFile !== '') {
      token = readSecretFile(fromFile, level === 'flag' ? '--token-file' : level === 'env' ? envName('token_file') : `${path}: token_file`);
      tokenSource = fromFile;
      break;
    }
  }

  const caSetting = pick('ca', flags.ca);
  let ca: Buffer | undefined;
  if (caSetting !== undefined) {
    try {
      ca = readFileSync(caSetting.value);
    } catch (err) {
      throw new CliError(ExitCode.CONFIG, `${caSetting.from}: cannot read CA file ${caSetting.value} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { url, token, ca, tokenSource };
}

function readSecretFile(path: string, from: string): string {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === '') throw new CliError(ExitCode.CONFIG, `${from}: token file ${path} is empty`);
    return text;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(ExitCode.CONFIG, `${from}: cannot read token file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Reads the [cli] section of an INI file with the daemons' INI reader (same
 * comments, quoting and `file:line` errors). Unknown sections and keys are
 * errors, as in every smgr config, with a "did you mean" when one is close.
 * @throws CliError (exit 78) naming file:line, key and rule of every problem
 */
export function readCliConfig(path: string): Map<Key, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(ExitCode.CONFIG, `cannot read config file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const doc = readIni(text, { file: path });
  const problems: ConfigErrorDetail[] = [...doc.problems];
  const out = new Map<Key, string>();
  for (const [name, section] of doc.sections) {
    if (name !== 'cli') {
      const rule = withSuggestion(`unknown section [${name}]; the CLI reads only [cli]`, name, ['cli'], (w) => `[${w}]`);
      problems.push({ file: path, line: section.line, key: `[${name}]`, rule });
      continue;
    }
    for (const [key, entry] of section.entries) {
      if (!(KEYS as readonly string[]).includes(key)) {
        problems.push({ file: path, line: entry.line, key: `cli.${key}`, rule: withSuggestion(`unknown key (known: ${KEYS.join(', ')})`, key, KEYS) });
      } else if (typeof entry.value !== 'string') {
        problems.push({ file: path, line: entry.line, key: `cli.${key}`, rule: 'takes one value; write key = value, not key[] =' });
      } else {
        out.set(key as Key, entry.value);
      }
    }
  }
  // Secret values (a token) are never echoed; paths and URLs help more than they hurt.
  const shown = problems.map(({ value, ...d }) => (d.key === 'cli.token' || value === undefined ? d : { ...d, value }));
  if (shown.length > 0) throw new CliError(ExitCode.CONFIG, shown.map((d) => formatConfigDetail(d)).join('\n'));
  return out;
}
