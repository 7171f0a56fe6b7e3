#!/usr/bin/env node
// Builds build/Release/smgr_reaper.node with node-gyp (run by `npm ci` as this
// package's install script; npm puts its own node-gyp on PATH). Node-gyp would
// download the Node headers unless told where they are: use npm's nodedir
// setting when there is one, else the headers installed beside the running
// node (<prefix>/include/node, as Debian's nodejs and the official tarballs
// have them), so an offline machine builds too. Needs a C compiler, make and
// python3 (Debian: build-essential python3).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const args = ['rebuild'];
if (!process.env.npm_config_nodedir) {
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
}
// npm names its own node-gyp in npm_config_node_gyp; prefer it over a `node-gyp`
// on PATH, which can be an old one hoisted from another package's dependencies
// (dbus-next's optional usocket brings node-gyp 7, which fails on Node 20).
const gyp = process.env.npm_config_node_gyp;
const r =
  gyp && existsSync(gyp)
    ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit', cwd: import.meta.dirname })
    : spawnSync('node-gyp', args, { stdio: 'inherit', cwd: import.meta.dirname });
if (r.error) {
  process.stderr.write(`@smgr/reaper: cannot run node-gyp (${r.error.message}); run this through npm (npm ci), which provides it\n`);
  process.exit(1);
}
process.exit(r.status ?? 1);
