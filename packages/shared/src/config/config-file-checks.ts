import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ConfigErrorDetail } from '../errors/index.js';
import { sectionsUsedBy, type DaemonRole, type EffectiveSection, type EffectiveSetting } from './effective-settings.js';

const TLS_FIX = 'create the CA and certificates with `smgr pki init` and `smgr pki issue` (README, "Security"), or correct the path';
const API_FIX = "point it at the API's HTTPS certificate or key (PEM), or leave it empty to use tls.cert / tls.key";

/**
 * Checks the files and directories a daemon's settings name, as that daemon
 * will use them: TLS and API certificate files must be readable files; the
 * log file and the agent's state directory must be writable or creatable
 * (their directories are created at start). Pid files are not checked: the
 * service writes them, often into a directory made when it starts.
 *
 * @returns one detail per problem, naming file:line, key, path and the fix
 */
export function checkConfigFiles(sections: readonly EffectiveSection[], role: DaemonRole | undefined): ConfigErrorDetail[] {
  const used = new Map(sectionsUsedBy(sections, role).map((s) => [s.name, s]));
  const get = (section: string, key: string): EffectiveSetting | undefined => used.get(section)?.settings.find((s) => s.key === key);
  const text = (setting: EffectiveSetting | undefined): string => (typeof setting?.value === 'string' ? setting.value : '');
  const details: ConfigErrorDetail[] = [];
  const problem = (section: string, setting: EffectiveSetting, rule: string) => {
    const origin = setting.origin ?? { file: 'defaults' };
    details.push({ ...origin, key: `${section}.${setting.key}`, value: setting.value, rule });
  };

  const readable = (section: string, key: string, fix: string) => {
    const setting = get(section, key);
    const path = text(setting);
    if (setting === undefined || path === '') return;
    const why = unreadableFile(path);
    if (why !== undefined) problem(section, setting, `${why}; ${fix}`);
  };
  if (get('tls', 'insecure')?.value === false) {
    for (const key of ['ca', 'cert', 'key']) readable('tls', key, TLS_FIX);
  }
  if (get('api', 'enabled')?.value === true && get('api', 'insecure')?.value === false) {
    for (const key of ['cert', 'key']) readable('api', key, API_FIX);
  }

  for (const name of used.keys()) {
    if (name.startsWith('receiver.'))
      readable(name, 'smtp_ca', 'give the PEM file of the CA that signed the SMTP server certificate, or leave smtp_ca empty to use the system CAs');
  }

  const logFile = get('logging', 'file');
  if (logFile !== undefined && text(logFile) !== '') {
    const why = unwritable(text(logFile), 'file');
    if (why !== undefined) {
      problem(
        'logging',
        logFile,
        `${why}; make its directory writable by the daemon's user (the systemd units allow /var/log/smgr-controller and /var/log/smgr-agent), or leave logging.file empty to log to stdout only`,
      );
    }
  }
  const stateDir = get('agent', 'state_dir');
  if (stateDir !== undefined && text(stateDir) !== '') {
    const why = unwritable(text(stateDir), 'directory');
    if (why !== undefined)
      problem('agent', stateDir, `${why}; create it writable by the agent's user (the systemd unit's StateDirectory= does), or choose another directory`);
  }
  return details;
}

/** A path that does not exist yet (ENOTDIR: a file where a directory should be, found further up). */
const MISSING = ['ENOENT', 'ENOTDIR'];

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'error';
}

/** Why `path` cannot be read as a file, or undefined when it can. */
function unreadableFile(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'is not a regular file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    if (code(err) === 'ENOENT') return 'no such file';
    if (code(err) === 'EACCES') return `is not readable by this user (uid ${process.getuid?.() ?? '?'})`;
    return `cannot be read (${code(err)})`;
  }
}

/**
 * Why `path` (a file, or a directory) cannot be written or created, or
 * undefined when it can: an existing one must be writable, a missing one
 * needs its nearest existing parent to be a writable directory.
 */
function unwritable(path: string, kind: 'file' | 'directory'): string | undefined {
  const full = resolve(path);
  try {
    const st = statSync(full);
    if (kind === 'file' ? !st.isFile() : !st.isDirectory()) return `is not a ${kind === 'file' ? 'regular file' : 'directory'}`;
    accessSync(full, kind === 'file' ? constants.W_OK : constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    if (code(err) === 'EACCES') return `is not writable by this user (uid ${process.getuid?.() ?? '?'})`;
    if (!MISSING.includes(code(err))) return `cannot be checked (${code(err)})`;
  }
  let parent = dirname(full);
  for (;;) {
    try {
      if (!statSync(parent).isDirectory()) return `cannot be created: ${parent} is not a directory`;
      accessSync(parent, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (err) {
      if (code(err) === 'EACCES') return `cannot be created: ${parent} is not writable by this user (uid ${process.getuid?.() ?? '?'})`;
      if (!MISSING.includes(code(err)) || dirname(parent) === parent) return `cannot be created (${code(err)} on ${parent})`;
    }
    parent = dirname(parent);
  }
}
