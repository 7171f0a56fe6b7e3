import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAutoApprove } from '@smgr/shared';
import { claimsToChange, decideClaim, needsRowCheck, type ClaimQuestion, type ClaimState } from './claim-approval.js';

const ask = (q: Partial<ClaimQuestion>) =>
  decideClaim({ hostId: 'web2', labels: {}, service: 'nginx', otherHolders: [], plainRow: false, rules: parseAutoApprove('*')!, ...q });

describe('the first decision on a claim', () => {
  test('a claim no other host holds is approved under the default rule, row or not (the single-host case)', () => {
    assert.equal(ask({ plainRow: true }).state, 'approved');
    assert.equal(ask({}).state, 'approved');
    assert.equal(needsRowCheck([]), false);
  });

  test('a claim on a plain-named row another host repairs is held, whatever the rules say', () => {
    const d = ask({ otherHolders: ['web1'], plainRow: true });
    assert.equal(d.state, 'pending');
    assert.match(d.reason, /row "nginx" is repaired \(now repaired by web1\)/);
    assert.equal(needsRowCheck(['web1']), true);
  });

  test('a claim that adds a host to a row already ambiguous is held too', () => {
    const d = ask({ otherHolders: ['a', 'b', 'c', 'd'], plainRow: true });
    assert.equal(d.state, 'pending');
    assert.match(d.reason, /ambiguous among a, b, c, …/);
  });

  test('a name other hosts share but no plain row uses (name@host rows, rollouts) is not a conflict', () => {
    assert.equal(ask({ otherHolders: ['web1'], plainRow: false }).state, 'approved');
  });

  test('auto_approve decides claims without conflict: host globs, labels, none', () => {
    assert.equal(ask({ rules: parseAutoApprove('web*')! }).state, 'approved');
    assert.equal(ask({ hostId: 'db1', rules: parseAutoApprove('web*')! }).state, 'pending');
    assert.match(ask({ hostId: 'db1', rules: parseAutoApprove('web*')! }).reason, /auto_approve/);
    assert.equal(ask({ hostId: 'db1', labels: { role: 'db' }, rules: parseAutoApprove('web*,role=db')! }).state, 'approved');
    assert.equal(ask({ rules: parseAutoApprove('none')! }).state, 'pending');
  });
});

describe('what an operator decision acts on', () => {
  const claims = new Map<string, ClaimState>([
    ['nginx', 'pending'],
    ['mysql', 'rejected'],
    ['app', 'approved'],
    ['cron', 'pending'],
  ]);

  test('approve without a service takes the pending claims only', () => {
    assert.deepEqual(claimsToChange(claims, 'approve'), ['cron', 'nginx']);
  });

  test('reject without a service takes every claim not rejected yet', () => {
    assert.deepEqual(claimsToChange(claims, 'reject'), ['app', 'cron', 'nginx']);
  });

  test('a named service is taken whatever its state; an unknown one is undefined', () => {
    assert.deepEqual(claimsToChange(claims, 'approve', 'mysql'), ['mysql']);
    assert.equal(claimsToChange(claims, 'approve', 'redis'), undefined);
  });
});
