import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { currentHolder, holderIsDeadHere, parseHolder } from './holder-identity.js';

/** The PID of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

const withPid = (token: string, pid: number) =>
  token
    .split('#')
    .map((p, i) => (i === 4 ? String(pid) : p))
    .join('#');

test('a holder token names the controller, host, boot, PID namespace and PID', () => {
  const h = parseHolder(currentHolder('ctl#1'));
  assert.equal(h?.controllerId, 'ctl_1', "a '#' in the id cannot shift the fields");
  assert.equal(h?.pid, process.pid);
  assert.equal(parseHolder('ctl-a#3f2a'), null, 'tokens of another format are not parsed');
});

test('only a holder on this boot and PID namespace whose PID is gone counts as dead', () => {
  const mine = currentHolder('ctl');
  assert.equal(holderIsDeadHere(mine), false, 'this process is alive');
  assert.equal(holderIsDeadHere(withPid(mine, 1)), false, 'PID 1 is alive');
  const dead = withPid(mine, deadPid());
  assert.equal(holderIsDeadHere(dead), true);
  const otherBoot = dead
    .split('#')
    .map((p, i) => (i === 2 ? '0000000000000000' : p))
    .join('#');
  assert.equal(holderIsDeadHere(otherBoot), false, 'another machine or boot proves nothing');
  const otherNs = dead
    .split('#')
    .map((p, i) => (i === 3 ? '1' : p))
    .join('#');
  assert.equal(holderIsDeadHere(otherNs), false, 'another PID namespace proves nothing');
  assert.equal(holderIsDeadHere('garbage'), false);
});
