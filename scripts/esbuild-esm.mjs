// What every esbuild bundle of an smgr daemon needs (scripts/package.mjs and the
// benches that measure the shipped bundle): one place, so a bench measures what ships.
import { readFileSync } from 'node:fs';

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

/** The version of every smgr package: packages/shared/package.json (scripts/check-versions.mjs keeps the others equal). */
export const SMGR_VERSION = JSON.parse(readFileSync(new URL('../packages/shared/package.json', import.meta.url), 'utf8')).version;

/**
 * packages/shared/src/version.ts reads the version from its package.json,
 * which a bundle does not carry: this replaces that one module with the
 * version as a constant, so every binary of a bundle reports the same one
 * (scripts/package.mjs --version passes its override).
 */
export function smgrVersionPlugin(version = SMGR_VERSION) {
  return {
    name: 'smgr-version',
    setup(b) {
      b.onLoad({ filter: /[\\/]packages[\\/]shared[\\/]dist[\\/]version\.js$/ }, () => ({
        contents: `export const SMGR_VERSION = ${JSON.stringify(version)};\n`,
        loader: 'js',
      }));
    },
  };
}

/**
 * How a daemon is bundled for shipping (scripts/package.mjs), and so how a
 * bench that measures the shipped agent bundles it. V8 keeps a module's
 * whole source text for lazy compilation, and one character outside Latin-1
 * (an arrow in a kept comment) made the agent's 3 MB bundle a two-byte
 * string of 6 MB of heap: whitespace and comments go, ASCII escapes the
 * rest, and names stay as written (stack traces and logs read as the source).
 */
export const shippedBundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'error',
  external: optionalExternals,
  banner: esmRequireBanner,
  plugins: [smgrVersionPlugin()],
};
