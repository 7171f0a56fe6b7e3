import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the console's built assets (index.html, app.js, app.css) are: next
 * to the packaged controller (`lib/../share/console`, scripts/package.mjs),
 * or in the checkout (`packages/console/dist`, `npm run build`). Null when
 * neither has them: /ui then says how to build them.
 */
export function findConsoleAssets(from: string = dirname(fileURLToPath(import.meta.url))): string | null {
  const candidates = [
    // Bundle: lib/smgr-controller.mjs → share/console.
    join(from, '..', 'share', 'console'),
    // Checkout: services/controller/dist/api/console/ → packages/console/dist.
    join(from, '..', '..', '..', '..', '..', 'packages', 'console', 'dist'),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? null;
}
