import type { StepFailureView } from '@smgr/shared';
import type { Paint } from './colors.js';

/** Output lines shown under a failed host; the whole tail is in --json and `smgr events`. */
const TAIL_LINES = 5;

/**
 * Two or more indented lines under a host's row:
 *     step start exited 1:
 *       | Error: cannot bind 0.0.0.0:80
 */
export function renderFailure(f: StepFailureView, c: Paint, indent = '    '): string {
  const how = f.exitCode === -1 ? 'did not exit by itself' : `exited ${f.exitCode}`;
  const lines = f.outputTail
    .replace(/\s+$/, '')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const shown = lines.slice(-TAIL_LINES);
  const cut = lines.length > shown.length ? `${indent}  | … (${lines.length - shown.length} more line(s) above)\n` : '';
  const head = `${indent}${c.red(`step ${f.step} ${how}`)}${shown.length > 0 ? ':' : ' (no output)'}\n`;
  return head + cut + shown.map((l) => `${indent}  | ${l}\n`).join('');
}
