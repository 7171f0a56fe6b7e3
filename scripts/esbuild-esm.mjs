// What every esbuild bundle of an smgr daemon needs (scripts/package.mjs and the
// benches that measure the shipped bundle): one place, so a bench measures what ships.

/**
 * CommonJS dependencies (grpc-js, mysql2, ...) call require() on node
 * builtins and read __dirname; an ES module has neither.
 */
export const esmRequireBanner = {
  js: [
    "import { createRequire as __smgrCreateRequire } from 'node:module';",
    "import { fileURLToPath as __smgrFileURLToPath } from 'node:url';",
    "import { dirname as __smgrDirname } from 'node:path';",
    'const require = __smgrCreateRequire(import.meta.url);',
    'const __filename = __smgrFileURLToPath(import.meta.url);',
    'const __dirname = __smgrDirname(__filename);',
  ].join('\n'),
};

/**
 * dbus-next's optional extras, never installed here: x11 (a session bus
 * found through an X display) and usocket (native, abstract sockets). The
 * agent names the system bus socket by path, which needs neither.
 */
export const optionalExternals = ['x11', 'usocket'];
