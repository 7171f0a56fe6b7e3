/// <reference lib="dom" />
/**
 * A real headless browser for console tests: Debian's chromium driven by
 * playwright-core (no browser download), a fresh profile in a temp dir, and
 * axe-core for accessibility checks. Screenshots go to docs/console/ when
 * SMGR_SCREENSHOTS=1.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeTempDir, type Cleanup } from '../harness/index.js';
import { ROOT } from './smgr.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(ROOT, 'docs', 'console');

/** Flags that keep the browser off the network except for what the page asks (loopback). */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches chromium with a profile of its own, closed and removed by `cleanup`. */
export async function launchBrowser(cleanup: Cleanup, opts: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  const profile = await makeTempDir('chromium');
  cleanup.add(() => profile.remove(), 'chromium profile');
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 860 },
    colorScheme: 'dark',
    timeout: 60_000,
  });
  cleanup.add(() => context.close(), 'chromium');
  return context;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core (WCAG 2.x A and AA rules) on the page as it is now; returns
 * the serious and critical violations. Injected through the DevTools
 * protocol, so the page's CSP (script-src 'self') stays on.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n: any) => String(n.target)) }));
  });
  return (result as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Saves a screenshot as docs/console/NAME.png when SMGR_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SMGR_SCREENSHOTS !== '1') return;
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
