#!/usr/bin/env node
// Packages smgr into one self-contained artifact directory per version, the
// thing deploy/ansible installs on hosts:
//
//   dist-bundle/smgr-<version>/
//     bin/smgr-controller bin/smgr-agent bin/smgr   sh launchers: runtime/bin/node if shipped, else node on PATH
//     lib/smgr-controller.mjs lib/smgr-agent.mjs lib/smgr.mjs   one esbuild bundle per binary, no node_modules
//     lib/smgr_reaper.node                          the agent's Node-API addon (orphan reaping; built by npm ci)
//     runtime/bin/node                              only with --with-node (a copy of the node running this script)
//     share/man/man{1,5,8}/...                      from deploy/man (smgr.conf.5 generated from the config schema)
//     share/systemd/*.service                       from deploy/systemd
//     share/console/                                the web console's built assets (packages/console/dist), served at /ui
//     VERSION  manifest.json                        version, node requirement, sha256 of every file
//
//     ../smgr-<version>-linux-x64.tar.gz            with --tarball: the same tree, what the Ansible roles unpack
//
//   node scripts/package.mjs [--version V] [--with-node] [--tarball] [--out DIR]
//
// Needs a build first (`npx turbo run build`): the bundles are made from the
// compiled dist/ JS, so they contain exactly what the tests ran. --version
// overrides the version the binaries report (--version, and the agent's Hello)
// for a test upgrade; default: the version in packages/shared. The directory
// is built under a temp name and renamed into place, so a reader never sees a
// half-written artifact. Each bundle is run with --version before the rename.
import { build } from 'esbuild';
import { SMGR_VERSION, shippedBundleOptions, smgrVersionPlugin } from './esbuild-esm.mjs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The binaries and their compiled entry points. */
const BINARIES = [
  { name: 'smgr-controller', entry: 'services/controller/dist/main.js' },
  // The agent idles on every host: V8's lite mode (no optimizing compiler) and
  // a small young generation keep it under 55 MB RSS (bench/agent-footprint).
  { name: 'smgr-agent', entry: 'services/agent/dist/main.js', nodeFlags: '--lite-mode --no-expose-wasm --max-semi-space-size=1 ' },
  { name: 'smgr', entry: 'packages/cli/dist/main.js' },
];
/** The agent loads it from beside its bundle (packages/reaper/src/index.ts); Node-API, so any Node >= 20 runs it. */
const REAPER_ADDON = 'packages/reaper/build/Release/smgr_reaper.node';

/** The lowest Node the bundles run on (package.json engines). */
const NODE_REQUIREMENT = '>=20.5';
const VERSION_RE = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;

function usage(message) {
  process.stderr.write(`package: ${message}\nusage: node scripts/package.mjs [--version V] [--with-node] [--tarball] [--out DIR]\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      version: { type: 'string' },
      'with-node': { type: 'boolean', default: false },
      tarball: { type: 'boolean', default: false },
      out: { type: 'string', default: join(root, 'dist-bundle') },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (err) {
  usage(err.message);
}
if (args.help) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  const header = lines.slice(
    0,
    lines.findIndex((l) => !l.startsWith('//')),
  );
  process.stdout.write(`${header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}

for (const file of BINARIES.map((b) => join(root, b.entry))) {
  if (!existsSync(file)) {
    process.stderr.write(`package: ${relative(root, file)} is missing: run \`npx turbo run build\` first\n`);
    process.exit(1);
  }
}
const version = args.version ?? SMGR_VERSION;
if (!version || !VERSION_RE.test(version)) usage(`not a version: ${JSON.stringify(version)} (expected e.g. 1.2.3 or 1.2.3-rc.1)`);

const outDir = resolve(args.out);
const name = `smgr-${version}`;
const final = join(outDir, name);
const work = join(outDir, `.${name}.tmp-${process.pid}`);
mkdirSync(outDir, { recursive: true });
rmSync(work, { recursive: true, force: true });

try {
  await bundleAll();
  copyAddons();
  writeLaunchers();
  if (args['with-node']) copyRuntime();
  copyDeployFiles();
  smokeTest();
  writeManifest();
  rmSync(final, { recursive: true, force: true });
  renameSync(work, final);
  if (args.tarball) writeTarball();
} catch (err) {
  rmSync(work, { recursive: true, force: true });
  rmSync(`${tarballPath()}.tmp-${process.pid}`, { force: true });
  process.stderr.write(`package: ${err.message}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ artifact: final, tarball: args.tarball ? tarballPath() : null, version, withNode: args['with-node'] })}\n`);

function tarballPath() {
  return join(outDir, `${name}-linux-x64.tar.gz`);
}

/** The artifact directory as one tarball with `smgr-<version>/` at its top, as the roles expect. */
function writeTarball() {
  const tmp = `${tarballPath()}.tmp-${process.pid}`;
  // gzip -1: the runtime dominates the size and barely compresses better at -9, which takes much longer.
  execFileSync('tar', ['-C', outDir, '--owner=0', '--group=0', '--use-compress-program=gzip -1', '-cf', tmp, name], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  renameSync(tmp, tarballPath());
}

async function bundleAll() {
  for (const bin of BINARIES) {
    await build({
      entryPoints: [join(root, bin.entry)],
      outfile: join(work, 'lib', `${bin.name}.mjs`),
      ...shippedBundleOptions,
      plugins: [smgrVersionPlugin(version)],
    });
  }
}

function copyAddons() {
  if (!existsSync(join(root, REAPER_ADDON))) throw new Error(`${REAPER_ADDON} is missing: run \`npm ci\` (it builds the addon with node-gyp)`);
  copyFileSync(join(root, REAPER_ADDON), join(work, 'lib', 'smgr_reaper.node'));
}

function writeLaunchers() {
  mkdirSync(join(work, 'bin'));
  for (const bin of BINARIES) {
    const path = join(work, 'bin', bin.name);
    writeFileSync(
      path,
      `#!/bin/sh
# ${bin.name} ${version}: runs lib/${bin.name}.mjs with the Node runtime shipped
# beside it (runtime/bin/node), else the first node on PATH (${NODE_REQUIREMENT}).
here=$(dirname "$(readlink -f "$0")")
node="$here/../runtime/bin/node"
if [ ! -x "$node" ]; then
  node=$(command -v node) || { echo "${bin.name}: no Node.js runtime: install node ${NODE_REQUIREMENT} or an artifact built with --with-node" >&2; exit 69; }
fi
exec "$node" ${bin.nodeFlags ?? ''}"$here/../lib/${bin.name}.mjs" "$@"
`,
    );
    chmodSync(path, 0o755);
  }
}

function copyRuntime() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) throw new Error(`--with-node ships the running node, which is ${process.version}; ${NODE_REQUIREMENT} is needed`);
  mkdirSync(join(work, 'runtime', 'bin'), { recursive: true });
  copyFileSync(process.execPath, join(work, 'runtime', 'bin', 'node'));
  chmodSync(join(work, 'runtime', 'bin', 'node'), 0o755);
}

function copyDeployFiles() {
  const manSrc = join(root, 'deploy/man');
  for (const file of readdirSync(manSrc)) {
    const section = /\.(\d)$/.exec(file)?.[1];
    if (!section) continue;
    const dir = join(work, 'share/man', `man${section}`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(manSrc, file), join(dir, file));
  }
  // smgr.conf(5) is made from the config schema, so it always lists the keys these binaries accept.
  mkdirSync(join(work, 'share/man/man5'), { recursive: true });
  execFileSync(process.execPath, [join(manSrc, 'gen-smgr-conf.mjs'), join(work, 'share/man/man5/smgr.conf.5'), '--version', version], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The web console: static files the controller serves at /ui (lib/../share/console).
  const consoleDist = join(root, 'packages/console/dist');
  if (!existsSync(join(consoleDist, 'index.html'))) throw new Error('packages/console/dist is missing: run `npx turbo run build` first');
  cpSync(consoleDist, join(work, 'share/console'), { recursive: true });
  mkdirSync(join(work, 'share/systemd'), { recursive: true });
  for (const file of readdirSync(join(root, 'deploy/systemd'))) {
    if (file.endsWith('.service')) copyFileSync(join(root, 'deploy/systemd', file), join(work, 'share/systemd', file));
  }
  writeFileSync(join(work, 'VERSION'), `${version}\n`);
}

/** Every binary must start from the artifact alone and report the artifact's version. */
function smokeTest() {
  for (const bin of BINARIES) {
    let out;
    try {
      // Outside the repo, so nothing resolves from its node_modules.
      out = execFileSync(join(work, 'bin', bin.name), ['--version'], { cwd: '/', encoding: 'utf8', timeout: 30_000 });
    } catch (err) {
      throw new Error(`bin/${bin.name} --version failed: ${err.stderr || err.message}`);
    }
    if (!out.includes(version)) throw new Error(`bin/${bin.name} --version printed ${JSON.stringify(out.trim())}, expected ${version}`);
  }
  // The addon must load in the runtime the artifact runs with (a missing symbol shows here, not on a host).
  const node = existsSync(join(work, 'runtime/bin/node')) ? join(work, 'runtime/bin/node') : process.execPath;
  try {
    execFileSync(
      node,
      ['-e', 'const m = { exports: {} }; process.dlopen(m, process.argv[1]); m.exports.isChildSubreaper();', join(work, 'lib', 'smgr_reaper.node')],
      {
        cwd: '/',
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 30_000,
      },
    );
  } catch (err) {
    throw new Error(`lib/smgr_reaper.node does not load: ${err.stderr || err.message}`);
  }
}

function writeManifest() {
  const files = {};
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(work, path).split(sep).join('/')] = sha256(path);
    }
  };
  walk(work);
  const manifest = {
    name: 'smgr',
    version,
    node: NODE_REQUIREMENT,
    runtime: args['with-node'] ? { node: process.version, arch: process.arch, platform: process.platform } : null,
    binaries: BINARIES.map((b) => b.name),
    files,
  };
  writeFileSync(join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
