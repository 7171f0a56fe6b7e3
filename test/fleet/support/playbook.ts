/**
 * Running ansible-playbook for fleet tests, from this machine's root
 * namespace: the inventory reaches the nspawn hosts with the
 * community.docker.nsenter connection (nsenter into each host's init), so no
 * packet goes to a namespace address.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ManagedProcess } from '@smgr/testing';

export const ANSIBLE_DIR = resolve(import.meta.dirname, '../../../deploy/ansible');

/** The inventory variables of every lab: nsenter enters as root already; the hosts have no sudo, and su from root asks nothing. */
export const LAB_INVENTORY_VARS = { ansible_python_interpreter: '/usr/bin/python3', ansible_become_method: 'su' };

/** An nspawn host's inventory entry: the community.docker.nsenter connection into its init. */
export const nsenterHost = (leaderPid: number) => ({ ansible_connection: 'community.docker.nsenter', ansible_nsenter_pid: leaderPid });

/** Writes an inventory of `hosts` (name: leader pid) at `path` (JSON, which ansible reads as YAML). */
export async function writeInventory(path: string, hosts: Record<string, number>): Promise<string> {
  const all = { vars: LAB_INVENTORY_VARS, hosts: Object.fromEntries(Object.entries(hosts).map(([name, pid]) => [name, nsenterHost(pid)])) };
  await writeFile(path, JSON.stringify({ all }));
  return path;
}

/** The counters of a host's PLAY RECAP line, each 0 when the line leaves it out. */
const RECAP_FIELDS = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'] as const;
/** One host's line of the PLAY RECAP. */
export type HostRecap = Record<(typeof RECAP_FIELDS)[number], number>;

export interface PlaybookResult {
  code: number | null;
  /** Per inventory host, from PLAY RECAP. */
  recap: Record<string, HostRecap>;
  /** The whole output, for failure messages. */
  output: string;
  durationMs: number;
}

export interface PlaybookOptions {
  inventory: string;
  /** Passed as one `-e @file` (JSON). */
  extraVarsFile?: string;
  /** Extra `-e key=value`. */
  extra?: Record<string, string>;
  /** Where the output log goes (kept with the test's temp dir). */
  logDir: string;
  name: string;
  timeoutMs?: number;
}

/** Runs a playbook to the end; never rejects for a failed play (check `code` and `recap`). */
export async function runPlaybook(playbook: string, opts: PlaybookOptions): Promise<PlaybookResult> {
  const args = ['-i', opts.inventory, playbook];
  if (opts.extraVarsFile) args.push('-e', `@${opts.extraVarsFile}`);
  for (const [k, v] of Object.entries(opts.extra ?? {})) args.push('-e', `${k}=${v}`);
  const started = Date.now();
  const proc = ManagedProcess.start('ansible-playbook', args, {
    name: opts.name,
    logDir: opts.logDir,
    cwd: ANSIBLE_DIR,
    maxLines: 20_000,
    env: {
      ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_RETRY_FILES_ENABLED: 'False',
      // Four hosts at once: the controller and three agents.
      ANSIBLE_FORKS: '5',
      PYTHONUNBUFFERED: '1',
    },
  });
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const timedOut = !(await proc.exitsWithin(timeoutMs));
  if (timedOut) await proc.stop('SIGTERM', 10_000);
  const status = await proc.stop();
  const output = proc.lines().join('\n');
  if (timedOut) throw new Error(`${opts.name}: ansible-playbook ${playbook} still running after ${timeoutMs} ms\n${proc.tail(80)}`);
  return { code: status.code, recap: parseRecap(output), output, durationMs: Date.now() - started };
}

/** `h1 : ok=20 changed=0 unreachable=0 failed=0 skipped=2 rescued=0 ignored=0` lines after PLAY RECAP. */
export function parseRecap(output: string): Record<string, HostRecap> {
  const at = output.lastIndexOf('PLAY RECAP');
  const recap: Record<string, HostRecap> = {};
  if (at < 0) return recap;
  for (const line of output.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const fields = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((f) => [f[1]!, Number(f[2])]));
    if (!('ok' in fields)) continue;
    recap[m[1]!] = Object.fromEntries(RECAP_FIELDS.map((f) => [f, fields[f] ?? 0])) as HostRecap;
  }
  return recap;
}

/** The end of a playbook's output, for assertion messages. */
export function outputTail(r: PlaybookResult, lines = 60): string {
  return r.output.split('\n').slice(-lines).join('\n');
}
