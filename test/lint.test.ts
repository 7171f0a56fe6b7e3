import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from '@smgr/testing/smgr';

/** The structure checks `npm run lint` runs (scripts/check-*.mjs): they pass on the tree and fail on what they exist to catch. */
function run(script: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [`scripts/${script}`, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('import cycles (scripts/check-cycles.mjs)', () => {
  test('a planted file cycle and a planted folder cycle fail the check, each named', () => {
    const r = run('check-cycles.mjs', 'test/fixtures/lint-cycle/src');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /file cycle: test\/fixtures\/lint-cycle\/src\/(a\/one|b\/two)\.ts -> .* -> /);
    assert.match(
      r.out,
      /folder cycle: test\/fixtures\/lint-cycle\/src\/c <-> test\/fixtures\/lint-cycle\/src\/d\n\s+test\/fixtures\/lint-cycle\/src\/c\/x\.ts -> test\/fixtures\/lint-cycle\/src\/d\/y\.ts/,
    );
  });

  test('the source tree has none', () => {
    const r = run('check-cycles.mjs');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /no import cycles \(\d+ files in .*services\/controller\/src/);
  });
});

describe('one owner per table (scripts/check-table-owners.mjs)', () => {
  test('a route that writes smgr_events itself fails the check, naming file, line and owner', () => {
    const r = run('check-table-owners.mjs', 'test/fixtures/table-owners/src');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /test\/fixtures\/table-owners\/src\/api\/stray-route\.ts:2: writes smgr_events, owned by history\/event-store\.ts/);
  });

  test("every table's writes in the controller are in its owner", () => {
    const r = run('check-table-owners.mjs');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /each in its owner/);
  });
});

describe('one version source (scripts/check-versions.mjs)', () => {
  test('a workspace version or internal pin that differs from packages/shared fails the check, each named', () => {
    const r = run('check-versions.mjs', 'test/fixtures/versions');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /services\/agent\/package\.json: version 0\.2\.0 \(expected 0\.1\.0\)/);
    assert.match(r.out, /services\/agent\/package\.json: dependencies\.@smgr\/shared is 0\.1\.1 \(expected 0\.1\.0\)/);
    assert.match(r.out, /package-lock\.json packages\["packages\/shared"\]: version 0\.0\.9 \(expected 0\.1\.0\)/);
    assert.doesNotMatch(r.out, /packages\["services\/agent"\]: dependencies/);
  });

  test('the tree has one version', () => {
    const r = run('check-versions.mjs');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^one version: \d+ workspace packages/);
  });
});
