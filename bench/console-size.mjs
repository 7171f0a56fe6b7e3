#!/usr/bin/env node
// What the web console adds to the package (issue 14: at most 5 MB, nothing
// to the agent). Bundles the controller and the agent as scripts/package.mjs
// does, with esbuild's metafile, and sums the output bytes that come from the
// console's own modules (services/controller/dist/api/console/) and from the npm
// packages only the console uses, plus the static assets (packages/console/dist,
// shipped as share/console/). Prints one JSON document.
//
//   npx turbo run build && node bench/console-size.mjs
import { build } from 'esbuild';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIMIT = 5 * 1024 * 1024;
/** npm packages in the controller bundle only because of the console (@fastify/static and @fastify/cookie and what they pull in). */
const CONSOLE_PACKAGES = [
  '@fastify/static',
  '@fastify/cookie',
  '@fastify/send',
  '@fastify/accept-negotiator',
  'content-disposition',
  'cookie',
  'glob',
  'minimatch',
  'minipass',
  'path-scurry',
  'lru-cache',
  'brace-expansion',
  'balanced-match',
  'mime',
  'http-errors',
  'depd',
  'escape-html',
  'inherits',
  'setprototypeof',
  'statuses',
  'toidentifier',
];

function packageOf(input) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input);
  return m ? m[1] : null;
}

async function bundle(entry) {
  const r = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: false,
    write: false,
    metafile: true,
    logLevel: 'error',
    outfile: '/tmp/smgr-console-size.mjs',
  });
  const out = Object.values(r.metafile.outputs)[0];
  return { bytes: out.bytes, inputs: out.inputs };
}

function dirBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

const assetsDir = join(root, 'packages/console/dist');
if (!existsSync(join(assetsDir, 'index.html'))) {
  process.stderr.write('console-size: packages/console/dist is missing: run `npx turbo run build` first\n');
  process.exit(1);
}
const controller = await bundle('services/controller/dist/main.js');
const agent = await bundle('services/agent/dist/main.js');
let consoleModules = 0;
let consolePackages = 0;
const byPackage = {};
for (const [input, { bytesInOutput }] of Object.entries(controller.inputs)) {
  if (input.includes('services/controller/dist/api/console/')) consoleModules += bytesInOutput;
  const pkg = packageOf(input);
  if (pkg && CONSOLE_PACKAGES.includes(pkg)) {
    consolePackages += bytesInOutput;
    byPackage[pkg] = (byPackage[pkg] ?? 0) + bytesInOutput;
  }
}
const agentConsoleInputs = Object.keys(agent.inputs).filter((i) => i.includes('/console/') || CONSOLE_PACKAGES.includes(packageOf(i) ?? ''));
const assets = dirBytes(assetsDir);
const total = assets + consoleModules + consolePackages;
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'console-size',
      unit: 'bytes',
      assets,
      controllerConsoleModules: consoleModules,
      controllerConsolePackages: consolePackages,
      byPackage,
      totalAdded: total,
      limit: LIMIT,
      withinLimit: total <= LIMIT,
      controllerBundle: controller.bytes,
      agentBundle: agent.bytes,
      agentConsoleInputs,
      machine: { node: process.version, cpus: cpus().length, memMB: Math.round(totalmem() / 1048576), loadavg: loadavg() },
    },
    null,
    2,
  )}\n`,
);
