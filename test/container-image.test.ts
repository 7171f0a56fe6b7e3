/**
 * The container image recipe (deploy/container/Containerfile), checked as a
 * linter would (hadolint is not packaged here) and against the rest of smgr:
 * the artifact scripts/package.mjs makes, the agent's state_dir default, the
 * launcher in the artifact. The entrypoint contract itself runs in
 * test/agent-pid1.test.ts (PID namespace) and test/fleet/container.test.ts
 * (an nspawn container without systemd).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configSchemaDoc } from '@smgr/shared';
import { execForm, healthcheck, keyValues, KNOWN_INSTRUCTIONS, parseContainerfile, readContainerfile } from '@smgr/testing/containerfile';

const ROOT = resolve(import.meta.dirname, '..');
const FILE = join(ROOT, 'deploy/container/Containerfile');
const recipe = readContainerfile(FILE);
const all = (k: string) => recipe.filter((i) => i.keyword === k);
const one = (k: string) => {
  const found = all(k);
  assert.equal(found.length, 1, `exactly one ${k}`);
  return found[0]!;
};

test('every instruction is a known one, and the base image is a build argument with a pinned, non-latest default', () => {
  for (const i of recipe) assert.ok(KNOWN_INSTRUCTIONS.has(i.keyword), `line ${i.line}: unknown instruction ${i.keyword}`);
  const firstFrom = recipe.findIndex((i) => i.keyword === 'FROM');
  assert.ok(
    recipe.slice(0, firstFrom).every((i) => i.keyword === 'ARG'),
    'only ARGs before FROM',
  );
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the Containerfile's own ${...} syntax
  assert.equal(one('FROM').args, '${BASE_IMAGE}');
  const base = recipe.slice(0, firstFrom).find((i) => i.args.startsWith('BASE_IMAGE='));
  const image = base?.args.slice('BASE_IMAGE='.length) ?? '';
  assert.match(image, /^[a-z0-9./-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$/, `BASE_IMAGE default ${image} names a tag or digest`);
  assert.doesNotMatch(readFileSync(FILE, 'utf8').replace(/^#.*$/gm, ''), /:latest\b/, 'no :latest anywhere');
});

test('it is built from the packaged artifact that scripts/package.mjs names', () => {
  const add = one('ADD');
  assert.match(add.args, /^smgr-\$\{SMGR_VERSION\}-linux-x64\.tar\.gz \/opt\/smgr\/$/);
  assert.match(
    readFileSync(join(ROOT, 'scripts/package.mjs'), 'utf8'),
    /`\$\{name\}-linux-x64\.tar\.gz`/,
    'package.mjs writes smgr-<version>-linux-x64.tar.gz',
  );
  assert.ok(
    all('ARG').some((a) => a.args === 'SMGR_VERSION'),
    'SMGR_VERSION is a build argument without a default',
  );
  assert.equal(all('COPY').length + all('ADD').filter((a) => /https?:/.test(a.args)).length, 0, 'nothing else, and nothing fetched, goes in');
});

test('it runs as a non-root user, with the state directory as a volume owned by that user', () => {
  const users = all('USER');
  assert.ok(users.length > 0, 'a USER instruction');
  const user = users.at(-1)!.args;
  assert.ok(!['root', '0', '0:0'].includes(user), `the last USER (${user}) is not root`);
  const stateDir = configSchemaDoc().find((d) => d.key === 'agent.state_dir')!.default;
  assert.deepEqual(execForm(one('VOLUME').args), [stateDir], 'VOLUME is agent.state_dir');
  const run = one('RUN').args;
  assert.match(run, new RegExp(`chown ${user}:${user} ${stateDir}`), 'the volume belongs to the user');
  assert.match(run, new RegExp(`useradd --system .* ${user}$|useradd --system .* ${user} `), 'the user is created');
  assert.doesNotMatch(run, /\bsudo\b|apt-get|curl|wget/, 'no package manager, download or sudo in the image');
});

test('the agent is the exec-form entrypoint (PID 1), stops on SIGTERM, reads its config from a mounted file, and has a health check', () => {
  assert.deepEqual(execForm(one('ENTRYPOINT').args), ['/opt/smgr/current/bin/smgr-agent']);
  assert.deepEqual(execForm(one('CMD').args), ['--config', '/etc/smgr/agent.ini']);
  assert.equal(one('STOPSIGNAL').args, 'SIGTERM');
  const env = keyValues(
    all('ENV')
      .map((e) => e.args)
      .join(' '),
  );
  assert.equal(env.SMGR_CONFIG, '/etc/smgr/agent.ini');
  const hc = healthcheck(one('HEALTHCHECK').args);
  assert.ok(hc.command, 'HEALTHCHECK CMD in exec form');
  for (const opt of ['interval', 'timeout', 'start-period', 'retries']) assert.ok(hc.options[opt], `HEALTHCHECK --${opt}`);
  assert.match(hc.command!.join(' '), /\/var\/lib\/smgr-agent\/heartbeat/, 'it checks the heartbeat file in state_dir');
  // The launcher the entrypoint names must exec node, so the agent itself (not sh) is PID 1.
  assert.match(readFileSync(join(ROOT, 'scripts/package.mjs'), 'utf8'), /^exec "\$node" /m);
});

test('the reader handles continuations, comments inside them and exec forms, and rejects what it cannot read', () => {
  const parsed = parseContainerfile('# c\nFROM x:1\nRUN a \\\n# inner comment\n  && b\nCMD ["a", "b"]\n');
  assert.deepEqual(
    parsed.map((i) => [i.keyword, i.args, i.line]),
    [
      ['FROM', 'x:1', 2],
      ['RUN', 'a && b', 3],
      ['CMD', '["a", "b"]', 6],
    ],
  );
  assert.throws(() => parseContainerfile('RUN a \\'), /continued/);
  assert.deepEqual(healthcheck('--interval=5s CMD ["true"]'), { options: { interval: '5s' }, command: ['true'] });
  assert.equal(execForm('sh -c true'), null);
});
