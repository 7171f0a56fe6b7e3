#!/usr/bin/env node
// `smgr` from a checkout. npm links this launcher into node_modules/.bin when
// `npm ci` runs, before anything is built, so it only loads the build output
// (`npm run build`) and says so when there is none yet.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`smgr: ${fileURLToPath(main)} is missing: run \`npm run build\` in the checkout first\n`);
  process.exit(1);
}
await import(main.href);
