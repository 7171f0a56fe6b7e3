/**
 * The deployment files on their own (issue 6): the Ansible roles and
 * playbooks pass ansible-lint, every man page renders with man -l without a
 * warning, smgr.conf(5) (generated from the schema) lists every key, and the
 * packaged artifact runs from anywhere and reports its version. Runs with
 * SMGR_FLEET=1, where .ci/run has installed ansible-lint and man-db.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { makeTempDir, useCleanup } from '@smgr/testing';
import { configSchemaDoc, SMGR_VERSION } from '@smgr/shared';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const MAN_DIR = join(ROOT, 'deploy/man');
const MAN_PAGES = ['smgr.1', 'smgr.conf.5', 'smgr-agent.8', 'smgr-controller.8'];

test('the Ansible roles and playbooks pass ansible-lint', { timeout: 300_000 }, async () => {
  const r = await run('ansible-lint', ['--nocolor', '--profile', 'production'], {
    cwd: join(ROOT, 'deploy/ansible'),
    timeout: 280_000,
    env: { ...process.env, ANSIBLE_CONFIG: join(ROOT, 'deploy/ansible/ansible.cfg') },
  }).catch((err: { stdout: string; stderr: string }) => assert.fail(`ansible-lint failed:\n${err.stdout}\n${err.stderr}`));
  assert.match(`${r.stdout}${r.stderr}`, /Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
});

test('every man page renders with man -l and groff reports no warning', async (t) => {
  const c = useCleanup(t);
  const tmp = await makeTempDir('man');
  c.add(() => tmp.remove(), 'man dir');
  // smgr.conf(5) exists only as generated (by the packager) from the config schema.
  await run(process.execPath, [join(MAN_DIR, 'gen-smgr-conf.mjs'), join(tmp.path, 'smgr.conf.5')]);
  assert.deepEqual(
    readdirSync(MAN_DIR)
      .filter((f) => /\.\d$/.test(f))
      .sort(),
    MAN_PAGES.filter((p) => p !== 'smgr.conf.5').sort(),
  );
  for (const page of MAN_PAGES) {
    const path = page === 'smgr.conf.5' ? join(tmp.path, page) : join(MAN_DIR, page);
    const r = await run('man', ['-l', '--warnings=all', path], { env: { ...process.env, MANWIDTH: '80' } });
    assert.equal(r.stderr, '', `${page}: ${r.stderr}`);
    // Bold and underline may come as overstrikes (c BS c) when man thinks a pager will show them.
    const text = r.stdout.replace(/.\x08/g, '');
    const name = page.replace(/\.\d$/, '');
    assert.match(text, /^NAME\n\s+\S/m, `${page} has a NAME section`);
    assert.ok(text.includes(name), `${page} names ${name}`);
    assert.match(text, /^SEE ALSO$/m, `${page} has SEE ALSO`);
  }
});

test('smgr.conf(5) documents every key the config schema accepts, with its environment variable', async () => {
  const { stdout: page } = await run(process.execPath, [join(MAN_DIR, 'gen-smgr-conf.mjs')]);
  const docs = configSchemaDoc();
  assert.ok(docs.length > 50);
  for (const doc of docs) {
    const key = doc.key.split('.').at(-1)!.replace(/-/g, '\\-');
    assert.ok(page.includes(`.BR ${key} "`), `smgr.conf.5 lacks ${doc.key}`);
    if (doc.env) assert.ok(page.includes(doc.env.replace(/-/g, '\\-')), `smgr.conf.5 lacks ${doc.env}`);
  }
  for (const section of new Set(docs.map((d) => d.key.split('.')[0]))) {
    assert.ok(page.includes(`.SH [${section}`), `smgr.conf.5 has a section for [${section}]`);
  }
});

test('a packaged artifact runs outside the repository and every binary reports its version', { timeout: 120_000 }, async (t) => {
  const c = useCleanup(t);
  const out = await makeTempDir('package');
  c.add(() => out.remove(), 'artifact dir');
  const version = `${SMGR_VERSION}-pkgtest.1`;
  const r = await run(process.execPath, [join(ROOT, 'scripts/package.mjs'), '--version', version, '--out', out.path], { cwd: ROOT, timeout: 110_000 });
  const artifact = JSON.parse(r.stdout.trim().split('\n').at(-1)!).artifact as string;
  const manifest = JSON.parse(readFileSync(join(artifact, 'manifest.json'), 'utf8'));
  for (const page of ['man1/smgr.1', 'man5/smgr.conf.5', 'man8/smgr-agent.8', 'man8/smgr-controller.8']) {
    assert.ok(manifest.files[`share/man/${page}`], `the artifact carries ${page}`);
  }
  assert.match(readFileSync(join(artifact, 'share/man/man5/smgr.conf.5'), 'utf8'), new RegExp(`"smgr ${version.replace(/[.+]/g, '\\$&')}"`));
  assert.equal(manifest.version, version);
  assert.deepEqual(manifest.binaries, ['smgr-controller', 'smgr-agent', 'smgr']);
  for (const bin of manifest.binaries as string[]) {
    // From / with an empty NODE_PATH: nothing can come from the repository's node_modules.
    const v = await run(join(artifact, 'bin', bin), ['--version'], { cwd: '/', env: { PATH: process.env.PATH, NODE_PATH: '' } });
    assert.ok(v.stdout.includes(version), `${bin} --version printed ${v.stdout}`);
  }
  const bad = await run(join(artifact, 'bin', 'smgr-agent'), ['--config', '/nonexistent/agent.ini'], { cwd: '/' }).catch((e) => e);
  assert.equal(bad.code, 78, `a missing config exits 78: ${bad.stderr}`);
  assert.match(bad.stderr, /\/nonexistent\/agent\.ini/);
});

test('the packager refuses a malformed version and leaves nothing behind', async (t) => {
  const c = useCleanup(t);
  const out = await makeTempDir('package-bad');
  c.add(() => out.remove(), 'artifact dir');
  const r = await run(process.execPath, [join(ROOT, 'scripts/package.mjs'), '--version', '1.0; rm -rf /', '--out', out.path], { cwd: ROOT }).catch((e) => e);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a version/);
  assert.deepEqual(readdirSync(out.path), []);
});
