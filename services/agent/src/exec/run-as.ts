import { readFileSync } from 'node:fs';
import { ConfigError, type ProcessConfig } from '@smgr/shared';

/**
 * Who a service's commands run as when its section sets `user` / `group`:
 * handed to child_process.spawn as uid/gid. When either is set, libuv clears
 * the supplementary groups (setgroups(0)) before it switches: the command has
 * its uid and one group, none of the agent's groups and none of the user's
 * other groups (no initgroups). A service that needs a second group gets it
 * as `group =`.
 */
export interface RunAs {
  uid: number;
  gid: number;
  /** For HOME/USER/LOGNAME of the command's environment. */
  user: string;
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const NUMERIC = /^\d+$/;
const ETC = { passwd: '/etc/passwd', group: '/etc/group' };

/**
 * The identity a service's commands run as, or undefined for the agent's own.
 * Names are looked up in /etc/passwd and /etc/group (the files a container
 * or a SysV host keeps its users in; write a numeric id for a user known only
 * to another NSS source). Throws ConfigError (exit 78) naming the key when
 * the agent may not switch users (it is not root) or the user is unknown.
 */
export function resolveRunAs(
  service: Pick<ProcessConfig, 'name' | 'user' | 'group'>,
  opts: { agentUid?: number; source?: string; files?: typeof ETC } = {},
): RunAs | undefined {
  if (service.user === undefined && service.group === undefined) return undefined;
  const agentUid = opts.agentUid ?? process.getuid?.() ?? 0;
  const files = opts.files ?? ETC;
  const file = opts.source ?? 'config';
  const section = `process.${service.name}`;
  const key = service.user !== undefined ? `${section}.user` : `${section}.group`;
  const value = service.user ?? service.group;
  if (agentUid !== 0) {
    throw new ConfigError([
      {
        file,
        key,
        value,
        rule: `the agent runs as uid ${agentUid}, not root, so it cannot start commands as another user: remove the key, or use the service strategy (a unit with User=, restarted through the polkit rule) or run the agent as root (in a container or on a SysV host); see docs/agent-privileges.md`,
      },
    ]);
  }
  const passwd = readEntries(files.passwd)
    .map(parsePasswd)
    .filter((e): e is PasswdEntry => e !== undefined);
  let entry: PasswdEntry | undefined;
  if (service.user !== undefined) {
    entry = NUMERIC.test(service.user)
      ? (passwd.find((e) => e.uid === Number(service.user)) ?? numericOnly(Number(service.user)))
      : passwd.find((e) => e.name === service.user);
    if (!entry) {
      throw new ConfigError([{ file, key: `${section}.user`, value: service.user, rule: `no such user in ${files.passwd}: create it, or write its uid` }]);
    }
    if (entry.uid === 0 && service.group === undefined) return undefined;
  } else {
    entry = passwd.find((e) => e.uid === agentUid) ?? numericOnly(agentUid);
  }
  let gid = entry.gid;
  if (service.group !== undefined) {
    const found = NUMERIC.test(service.group)
      ? Number(service.group)
      : readEntries(files.group)
          .map((line) => line.split(':'))
          .find((f) => f[0] === service.group)?.[2];
    if (found === undefined || !NUMERIC.test(String(found))) {
      throw new ConfigError([{ file, key: `${section}.group`, value: service.group, rule: `no such group in ${files.group}: create it, or write its gid` }]);
    }
    gid = Number(found);
  }
  return { uid: entry.uid, gid, user: entry.name, home: entry.home };
}

/** Checks every service's user/group at start-up, so a bad one exits 78 before any job arrives. */
export function checkRunAs(processes: readonly ProcessConfig[], opts: { agentUid?: number; source?: string } = {}): void {
  for (const p of processes) resolveRunAs(p, opts);
}

/** spawn() options that run a command as `runAs`, and the environment that goes with it. */
export function runAsSpawnOptions(
  runAs: RunAs | undefined,
  env: Record<string, string> | undefined,
): { uid?: number; gid?: number; env?: Record<string, string> } {
  if (!runAs) return env ? { env } : {};
  const base = env ?? (process.env as Record<string, string>);
  return { uid: runAs.uid, gid: runAs.gid, env: { ...base, HOME: runAs.home, USER: runAs.user, LOGNAME: runAs.user } };
}

function readEntries(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
  } catch {
    return [];
  }
}

function parsePasswd(line: string): PasswdEntry | undefined {
  const f = line.split(':');
  if (f.length < 7 || !NUMERIC.test(f[2]!) || !NUMERIC.test(f[3]!)) return undefined;
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' };
}

/** A uid with no passwd entry: its own number as the group, / as home. */
function numericOnly(uid: number): PasswdEntry {
  return { name: String(uid), uid, gid: uid, home: '/' };
}
