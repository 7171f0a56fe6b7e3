/**
 * Units of the resource rules (`[process.NAME] max_memory`, `max_cpu`):
 * sizes with a 1024-based unit and CPU percentages, parsed strictly so a
 * typo is a config error (exit 78), never a rule that means something else.
 */

const SIZE_TEXT = /^(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?$/i;
const PERCENT_TEXT = /^(\d+(?:\.\d+)?)\s*%$/;
const SHIFT: Record<string, number> = { K: 10, M: 20, G: 30, T: 40 };

/** The rule a size setting must follow (error messages, docs). */
export const SIZE_RULE = 'must be a size with a unit: 512K, 200M, 1.5G or 1T (1024-based; KB/KiB, MB/MiB … mean the same), or empty for no limit';
/** The rule a CPU percentage setting must follow. */
export const PERCENT_RULE = 'must be a percentage of one CPU such as 90% (above 100% for several cores), or empty for no limit';

/** Bytes of "200M", "1.5G", "512KiB"; undefined when malformed or not above 0. A bare number has no unit and is refused. */
export function parseSize(text: string): number | undefined {
  const m = SIZE_TEXT.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.round(Number(m[1]) * 2 ** SHIFT[m[2]!.toUpperCase()]!);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** 90 for "90%"; undefined when malformed, not above 0 or absurd (> 100,000 %). */
export function parsePercent(text: string): number | undefined {
  const m = PERCENT_TEXT.exec(text.trim());
  if (!m) return undefined;
  const p = Number(m[1]);
  return p > 0 && p <= 100_000 ? p : undefined;
}

/** "200 MiB", "1.5 GiB", "730 KiB": a byte count as an operator reads it. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}
