import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDowngrade } from './status-update.js';

describe('isDowngrade', () => {
  it('compares versions in natural order', () => {
    assert.equal(isDowngrade('1.10.0', '1.9.0'), true);
    assert.equal(isDowngrade('1.9.0', '1.10.0'), false);
    assert.equal(isDowngrade('2.0', '2.0'), false);
  });

  it("reads the first version-looking word of version_command's line", () => {
    assert.equal(isDowngrade('app 2.0 (build 7)', '1.9'), true);
    assert.equal(isDowngrade('app 2.0 (build 7)', '2.1'), false);
  });

  it('is never a downgrade when nothing is installed', () => {
    assert.equal(isDowngrade('', '1.0'), false);
    assert.equal(isDowngrade('not installed', '1.0'), false);
  });
});
