#!/usr/bin/env node
// Import-cycle check, run by `npm run lint` (dpdm parses the imports).
//
//   node scripts/check-cycles.mjs               packages/*/src and services/*/src
//   node scripts/check-cycles.mjs DIR...        those source trees instead (the
//                                               lint test plants a cycle in a fixture)
//
// Fails (exit 1) on
//   - a cycle between files (type-only imports count too: they still tie the
//     modules together for a reader), and
//   - a cycle between folders: a module in src/db imports src/repair while a
//     module in src/repair imports src/db. A folder is the first directory
//     under a package's src/ (files directly in src/ are the package's top and
//     may import any folder).
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toRel = (p) => relative(root, resolve(root, p)).split(sep).join('/');

function defaultTrees() {
  const out = [];
  for (const group of ['packages', 'services']) {
    for (const name of readdirSync(join(root, group))) {
      const src = join(group, name, 'src');
      try {
        if (statSync(join(root, src)).isDirectory()) out.push(src);
      } catch {
        // a package without src/
      }
    }
  }
  return out;
}

const trees = process.argv.slice(2).length > 0 ? process.argv.slice(2).map(toRel) : defaultTrees();
const entries = trees.map((t) => `${t}/**/*.ts`);
const tree = await parseDependencyTree(entries, {
  cwd: root,
  context: root,
  transform: false,
  skipDynamicImports: false,
  exclude: /node_modules|\/dist\/|\/gen\//,
});

const problems = [];
for (const cycle of parseCircular(tree)) problems.push(`file cycle: ${[...cycle, cycle[0]].map(toRel).join(' -> ')}`);

/** `services/controller/src/db` for services/controller/src/db/pool.ts; null for a file directly in src/. */
function folderOf(file) {
  const rel = toRel(file);
  const tree = trees.find((t) => rel.startsWith(`${t}/`));
  if (!tree) return null;
  const rest = rel.slice(tree.length + 1).split('/');
  return rest.length > 1 ? `${tree}/${rest[0]}` : null;
}

const edges = new Map(); // folder -> Map(folder -> example "a.ts -> b.ts")
for (const [file, deps] of Object.entries(tree)) {
  const from = folderOf(file);
  if (!from || !deps) continue;
  for (const dep of deps) {
    if (!dep.id) continue;
    const to = folderOf(dep.id);
    if (!to || to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, `${toRel(file)} -> ${toRel(dep.id)}`);
  }
}
// Tarjan's strongly connected components over the folder graph.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const on = new Set();
function connect(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  on.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!idx.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const scc = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) {
      // Sorted before the example edges are listed: the report does not depend on the order dpdm read the files in.
      scc.sort();
      const inside = new Set(scc);
      const why = scc.flatMap((a) => [...(edges.get(a) ?? [])].filter(([b]) => inside.has(b)).map(([, e]) => `    ${e}`));
      problems.push(`folder cycle: ${scc.join(' <-> ')}\n${why.join('\n')}`);
    }
  }
}
for (const v of edges.keys()) if (!idx.has(v)) connect(v);

if (problems.length > 0) {
  console.error(`import cycles (${problems.length}):\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`no import cycles (${Object.keys(tree).length} files in ${trees.join(', ')})`);
