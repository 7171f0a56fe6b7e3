#!/usr/bin/env node
// One version source, run by `npm run lint`: the version of packages/shared
// (what every binary reports, packages/shared/src/version.ts) is the version
// of every workspace package, and of every pin of one workspace package on
// another (package.json and the workspace entries of package-lock.json).
// To release a new version, change them all together.
//
//   node scripts/check-versions.mjs        this repository
//   node scripts/check-versions.mjs DIR    another tree with the same layout
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

const rootPkg = readJson(join(root, 'package.json'));
/** Workspace folders ("packages/shared", ...) from the root's `workspaces` globs of the form DIR/*. */
const workspaces = rootPkg.workspaces.flatMap((glob) => {
  const parent = glob.replace(/\/\*$/, '');
  return readdirSync(join(root, parent), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, parent, e.name, 'package.json')))
    .map((e) => `${parent}/${e.name}`);
});
const manifests = new Map(workspaces.map((dir) => [dir, readJson(join(root, dir, 'package.json'))]));
const expected = manifests.get('packages/shared')?.version;
if (!expected) {
  console.error('packages/shared/package.json has no version: it is the one source of the smgr version');
  process.exit(1);
}
const internal = new Set([...manifests.values()].map((m) => m.name));

const problems = [];
/** One manifest (a package.json, or a workspace entry of package-lock.json) against the expected version. */
function check(where, manifest) {
  if (manifest.version !== expected) problems.push(`${where}: version ${manifest.version} (expected ${expected})`);
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, pin] of Object.entries(manifest[field] ?? {})) {
      if (internal.has(name) && pin !== expected) problems.push(`${where}: ${field}.${name} is ${pin} (expected ${expected})`);
    }
  }
}
for (const [dir, manifest] of manifests) check(`${dir}/package.json`, manifest);
const lockPath = join(root, 'package-lock.json');
if (existsSync(lockPath)) {
  const lock = readJson(lockPath);
  for (const dir of workspaces) {
    if (lock.packages?.[dir]) check(`package-lock.json packages["${dir}"]`, lock.packages[dir]);
  }
}

if (problems.length > 0) {
  console.error(
    `versions differ from packages/shared/package.json (${problems.length}):\n${problems.join('\n')}\nset them all to one version (then npm install to update package-lock.json)`,
  );
  process.exit(1);
}
console.log(`one version: ${workspaces.length} workspace packages and their internal pins are ${expected} (${relative(process.cwd(), root) || '.'})`);
