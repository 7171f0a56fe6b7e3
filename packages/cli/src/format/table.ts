import { visibleLength } from './colors.js';
import { safeCell } from './sanitize.js';

/** Plain left-aligned columns with a header, as `ps` and `systemctl list-units` print; cells may be coloured, and are made safe and one-line. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header.map(String), ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : safeCell(String(c)))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => visibleLength(r[i] ?? ''))));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(Math.max(0, widths[i]! - visibleLength(c)))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** "3 s ago" / "2 min ago" from an ISO time; "-" for none. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** k=v,k2=v2 */
export function labels(l: Record<string, string> | undefined): string {
  const entries = Object.entries(l ?? {});
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}
