/**
 * A zombie (a process that has exited and whose parent has not collected its
 * status) is never "running" for the agent: not for the built-in check
 * (`pgrep -x -- %s`, answered from /proc), the process table, nor a pidfile.
 * procps pgrep does list zombies; `--runstates` (-r) leaves them out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ProcessNames } from './process-names.js';
import { findProcessByPidfile, findProcessesByName, invalidateProcessTable, isAlive } from './process-table.js';

const stateOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2);
};

/**
 * A zombie named `name`: its parent (a shell that then becomes `sleep 60`)
 * never waits for it. Killing the parent (by pid) at the end lets init reap it.
 */
async function zombie(t: { after(fn: () => void): void }, name: string): Promise<{ pid: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-zombie-'));
  copyFileSync('/bin/sleep', join(dir, name));
  const parent = spawn('/bin/sh', ['-c', `"$0" 60 & echo $!; exec sleep 60`, join(dir, name)], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => {
    parent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  // Only once the shell has become `sleep`: the shell itself would reap its dead background job.
  const comm = () => readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim();
  for (let i = 0; i < 500 && comm() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(comm(), 'sleep', 'the parent runs sleep, which never waits');
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 500 && stateOf(pid) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(stateOf(pid), 'Z', 'the child is a zombie');
  invalidateProcessTable();
  return { pid, dir };
}

test('a zombie is not running for the built-in check, the process table or a pidfile; procps pgrep lists it unless told the run states', async (t) => {
  const name = `zb-${randomBytes(4).toString('hex')}`;
  const { pid, dir } = await zombie(t, name);

  assert.deepEqual(ProcessNames.capture().pidsNamed(name), [], 'built-in pgrep -x -- %s');
  assert.deepEqual(await findProcessesByName(name), [], 'process table by name');
  const pidfile = join(dir, 'svc.pid');
  writeFileSync(pidfile, `${pid}\n`);
  assert.deepEqual(await findProcessByPidfile(pidfile), [], 'pidfile naming the zombie');
  assert.equal(isAlive(pid), false);

  const pgrep = spawnSync('pgrep', ['-x', '--', name], { encoding: 'utf8' });
  assert.equal(
    pgrep.status,
    0,
    `procps pgrep -x matches the zombie; state now ${(() => {
      try {
        return stateOf(pid);
      } catch {
        return 'gone';
      }
    })()} ${spawnSync('ps', ['-o', 'pid,ppid,stat,comm', '-p', String(pid)], { encoding: 'utf8' }).stdout} ${pgrep.stderr}`,
  );
  assert.equal(pgrep.stdout.trim(), String(pid));
  const live = spawnSync('pgrep', ['-x', '-r', 'D,R,S,T,t', '--', name], { encoding: 'utf8' });
  assert.equal(live.status, 1, `pgrep -r D,R,S,T,t does not: ${live.stdout}${live.stderr}`);
});
