import { createRequire } from 'node:module';

/**
 * The version every smgr binary reports; agents send it in Hello. Its one
 * source is this package's package.json: `npm run lint`
 * (scripts/check-versions.mjs) fails when a workspace package or an internal
 * dependency pin says otherwise. A bundle has no package.json beside it:
 * scripts/esbuild-esm.mjs (smgrVersionPlugin) replaces this module there with
 * the version as a constant.
 */
export const SMGR_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
