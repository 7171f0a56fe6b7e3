/**
 * The README's quick start, as a new operator meets it: a fresh clone, the
 * install command, and each binary's `--help` run the documented way. The
 * commands are read from README.md, so the README and this test cannot drift.
 *
 * The clone is of the checkout's committed HEAD (`git clone --no-hardlinks`):
 * uncommitted changes are not part of what is tested. The demo itself is
 * covered by demo.test.ts in the checkout.
 *
 * The clone's `npm run build` uses the checkout's turbo cache (TURBO_CACHE_DIR),
 * as a shared turbo cache would: a task whose inputs match the checkout's
 * build is restored from there, anything else is built. That keeps the test
 * within the runner's per-file time on a busy machine; npm ci is done in full
 * (offline from npm's cache when it has the packages).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ManagedProcess, makeTempDir, useCleanup } from '@smgr/testing';
import { ROOT } from '@smgr/testing/smgr';

const BINARIES = ['smgr', 'smgr-controller', 'smgr-agent'] as const;
/** Printed before each README command so the output can be split per command. */
const MARK = '@@quick-start@@ ';

/** The commands of the `sh` block under "## Quick start" in README.md that runs the binaries (`--help`). */
function quickStartCommands(readme: string): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  assert.ok(section, 'README.md has a "## Quick start" section');
  const block = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].find((m) => m[1]!.includes('--help'));
  assert.ok(block, 'the quick start has a ```sh block running the binaries');
  return block[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Turbo's cache of the checkout: .turbo/cache beside the (main) git directory, also for a git worktree. */
function checkoutTurboCache(): string | undefined {
  const common = spawnSync('git', ['rev-parse', '--git-common-dir'], { cwd: ROOT, encoding: 'utf8' });
  if (common.status !== 0) return undefined;
  const dir = join(dirname(resolve(ROOT, common.stdout.trim())), '.turbo', 'cache');
  return existsSync(dir) ? dir : undefined;
}

/** The environment of a fresh shell: nothing inherited from the npm/node:test run around this test. */
function freshShellEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const cache = checkoutTurboCache();
  if (cache) env.TURBO_CACHE_DIR = cache;
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'INIT_CWD' || k === 'NODE_TEST_CONTEXT' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}

test('the README quick start block lists the install command and every binary --help', () => {
  const commands = quickStartCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(
    commands.some((c) => /\bnpm ci\b/.test(c) && /\bnpm run build\b/.test(c)),
    commands.join('\n'),
  );
  for (const bin of BINARIES) {
    assert.ok(
      commands.some((c) => c.split(/\s+/)[0]!.endsWith(bin) && c.includes('--help')),
      `${bin} --help is in the quick start`,
    );
  }
  assert.ok(!commands.some((c) => /\bnpx\b|\bnpm exec\b/.test(c)), 'no command can fall back to the public registry');
});

test('a fresh clone runs the README quick start: npm ci without engine warnings, build, each binary --help', {
  timeout: 20 * 60_000,
  skip: existsSync(join(ROOT, '.git')) ? false : 'not a git checkout',
}, async (t) => {
  const cleanup = useCleanup(t);
  const tmp = await makeTempDir('quick-start');
  cleanup.add(() => tmp.remove(), 'temp dir');
  const clone = join(tmp.path, 'smgr');
  const cloned = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], { encoding: 'utf8' });
  assert.equal(cloned.status, 0, `git clone failed: ${cloned.stderr}`);

  const commands = quickStartCommands(readFileSync(join(clone, 'README.md'), 'utf8'));
  const script = join(tmp.path, 'quick-start.sh');
  writeFileSync(
    script,
    [
      'set -euo pipefail',
      'exec 2>&1',
      ...commands.flatMap((c) => [`printf '%s\\n' ${shellQuote(MARK + c)}`, c]),
      // Where the names resolved: the clone's own launchers, not anything installed globally.
      `printf '%s\\n' ${shellQuote(`${MARK}command -v`)}`,
      `command -v ${BINARIES.join(' ')}`,
      '',
    ].join('\n'),
  );
  const run = ManagedProcess.start('bash', [script], { name: 'quick-start', cwd: clone, env: freshShellEnv(), maxLines: 20_000 });
  cleanup.add(() => run.stop(), 'quick-start script');
  const status = await run.exited;
  const output = run.lines();
  assert.equal(status.code, 0, `the quick start failed:\n${run.tail(60)}`);

  const sections = new Map<string, string>();
  let current = '';
  for (const line of output) {
    if (line.startsWith(MARK)) {
      current = line.slice(MARK.length);
      sections.set(current, '');
    } else if (current) {
      sections.set(current, `${sections.get(current)}${line}\n`);
    }
  }
  const install = [...sections].find(([c]) => /\bnpm ci\b/.test(c));
  assert.ok(install, 'the install command ran');
  assert.doesNotMatch(install[1], /EBADENGINE|Unsupported engine/, `npm ci warned about engines:\n${install[1]}`);

  for (const bin of BINARIES) {
    const help = [...sections].find(([c]) => c.split(/\s+/)[0] === bin && c.includes('--help'));
    assert.ok(help, `${bin} --help ran`);
    assert.match(help[1], new RegExp(`^Usage: ${bin} `, 'm'), `${bin} --help printed its usage:\n${help[1]}`);
  }
  const resolved = (sections.get('command -v') ?? '').trim().split('\n');
  assert.deepEqual(
    resolved,
    BINARIES.map((b) => join(clone, 'node_modules/.bin', b)),
    "each name resolves to the clone's node_modules/.bin",
  );
});

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
