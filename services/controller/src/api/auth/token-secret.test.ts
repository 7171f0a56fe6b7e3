import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hashToken, looksLikeToken, newTokenSecret, sameHash } from './token-secret.js';
import { roleAllows } from './roles.js';

describe('token secrets', () => {
  it('are 32 random bytes behind a recognisable prefix, stored as their SHA-256', () => {
    const a = newTokenSecret();
    const b = newTokenSecret();
    assert.notEqual(a, b);
    assert.ok(looksLikeToken(a));
    assert.equal(Buffer.from(a.slice('smgr_'.length), 'base64url').length, 32);
    assert.equal(hashToken(a), createHash('sha256').update(a).digest('hex'));
    assert.ok(sameHash(hashToken(a), hashToken(a)));
    assert.ok(!sameHash(hashToken(a), hashToken(b)));
    assert.ok(!sameHash('', ''));
    assert.ok(!looksLikeToken('Bearer x'));
  });

  it('roles allow what the roles below them allow', () => {
    assert.ok(roleAllows('admin', 'operator') && roleAllows('operator', 'viewer') && roleAllows('viewer', 'viewer'));
    assert.ok(!roleAllows('viewer', 'operator') && !roleAllows('operator', 'admin'));
  });
});
