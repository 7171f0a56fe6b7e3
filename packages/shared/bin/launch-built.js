// The checkout launchers of smgr, smgr-agent and smgr-controller (each
// package's bin/). npm links them into node_modules/.bin when `npm ci` runs,
// before anything is built, so this file is plain JavaScript outside dist/:
// it loads the package's build output (`npm run build`) and says so when there
// is none yet. The packaged artifact has launchers of its own
// (scripts/package.mjs).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Runs `main` (a package's dist/main.js), or exits 1 naming the missing build. */
export async function launchBuilt(name, main) {
  if (!existsSync(main)) {
    process.stderr.write(`${name}: ${fileURLToPath(main)} is missing: run \`npm run build\` in the checkout first\n`);
    process.exit(1);
  }
  await import(main.href);
}
