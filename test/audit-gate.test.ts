import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '@smgr/testing/smgr';

/** scripts/audit-gate.mjs (run by .ci/run) on saved `npm audit --omit=dev --json` answers. */
const fixture = (name: string) => join(ROOT, 'test/fixtures/npm-audit', name);

function gate(input: string): Promise<{ code: number; stdout: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [join(ROOT, 'scripts/audit-gate.mjs'), '--input', input], (err, stdout) =>
      done({ code: err ? Number((err as { code?: unknown }).code) : 0, stdout }),
    ),
  );
}

test('a high or critical advisory with a fix available fails CI; one without a fix, or a moderate one, is only printed', async () => {
  const r = await gate(fixture('report.json'));
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /FIX AVAILABLE: fastify \(high, <5\.3\.2\): .* -> fix: fastify@5\.3\.2/);
  assert.match(r.stdout, /FIX AVAILABLE: node-forge \(critical, <1\.3\.2\): .* -> fix: npm audit fix/);
  assert.match(r.stdout, /no fix available yet \(not failing\): brace-expansion \(high/);
  assert.match(r.stdout, /no fix available yet \(not failing\): minimatch \(high, 3\.0\.0 - 3\.1\.2\) via brace-expansion/);
  assert.doesNotMatch(r.stdout, /cookie/);
  assert.match(r.stdout, /audit: FAIL: 2 high\/critical advisory/);
});

test('advisories without a fix only pass', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-'));
  try {
    const report = JSON.parse(await readFile(fixture('report.json'), 'utf8'));
    delete report.vulnerabilities.fastify;
    delete report.vulnerabilities['node-forge'];
    await writeFile(join(dir, 'r.json'), JSON.stringify(report));
    const r = await gate(join(dir, 'r.json'));
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /audit: ok: no high\/critical advisory with a fix available/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an unreachable or refusing audit endpoint passes with a warning that nothing was checked', async () => {
  for (const f of ['endpoint-405.json', 'endpoint-refused.json']) {
    const r = await gate(fixture(f));
    assert.equal(r.code, 0, `${f}: ${r.stdout}`);
    assert.match(r.stdout, /WARNING: production dependencies NOT checked: audit endpoint unavailable: (405 Method Not Allowed|request to .* failed)/);
  }
  const dir = await mkdtemp(join(tmpdir(), 'audit-'));
  try {
    await writeFile(join(dir, 'empty.json'), '');
    const r = await gate(join(dir, 'empty.json'));
    assert.equal(r.code, 0);
    assert.match(r.stdout, /NOT checked: npm audit printed no JSON report/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
