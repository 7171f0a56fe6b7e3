import pc from 'picocolors';
import { stripVTControlCharacters } from 'node:util';

/** Colours for the CLI's text output: ANSI on a terminal, plain strings otherwise. */
export interface Paint {
  readonly enabled: boolean;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
  /** A state or outcome word coloured by what it means: trouble red, health green, in progress yellow. */
  state(word: string): string;
}

const RED = new Set([
  'alarm',
  'failed',
  'rollback_failed',
  'down',
  'halted',
  'aborted',
  'refused',
  'denied',
  'error',
  'rejected',
  'unavailable',
  'timed_out',
  'interrupted',
]);
const GREEN = new Set(['ok', 'succeeded', 'healthy', 'connected', 'rolled_back']);
const YELLOW = new Set([
  'pending',
  'running',
  'checking',
  'updating',
  'verifying',
  'rolling_back',
  'rollback_pending',
  'awaiting_promotion',
  'paused',
  'partial',
]);

/**
 * Colour only when stdout is a terminal, the output is not --json, and the
 * user did not ask for none (NO_COLOR set and not empty, or TERM=dumb;
 * https://no-color.org).
 */
export function colourWanted(stdout: { isTTY?: boolean }, env: Record<string, string | undefined>, json: boolean): boolean {
  if (json || stdout.isTTY !== true) return false;
  if ((env.NO_COLOR ?? '') !== '') return false;
  return env.TERM !== 'dumb';
}

export function paint(enabled: boolean): Paint {
  const c = pc.createColors(enabled);
  return {
    enabled,
    red: c.red,
    green: c.green,
    yellow: c.yellow,
    bold: c.bold,
    dim: c.dim,
    state(word) {
      const key = word.toLowerCase();
      if (RED.has(key)) return c.red(word);
      if (GREEN.has(key)) return c.green(word);
      if (YELLOW.has(key)) return c.yellow(word);
      return word;
    },
  };
}

/** No colour: for renderers called outside a command (tests, the menu's plain output). */
export const PLAIN: Paint = paint(false);

/** Width of `text` on screen (ANSI escapes take none). */
export function visibleLength(text: string): number {
  return stripVTControlCharacters(text).length;
}
