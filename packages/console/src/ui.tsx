import type { ComponentChildren } from 'preact';

/** Small shared pieces of the pages. */

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

export function fmtAgo(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return fmtTime(iso);
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

const GOOD = new Set(['succeeded', 'healthy', 'ok', 'connected', 'approved', 'rolled_back', 'resolved', 'closed']);
const BAD = new Set(['failed', 'halted', 'error', 'rollback_failed', 'disconnected', 'unavailable', 'refused', 'denied', 'interrupted', 'open', 'alarm']);

/** A state as a badge: colour and the word (never colour alone). */
export function State({ value }: { value: string }) {
  const cls = GOOD.has(value) ? 'ok' : BAD.has(value) ? 'bad' : 'warn';
  return <span class={`badge ${cls}`}>{value.replace(/_/g, ' ')}</span>;
}

export function Table({ caption, head, children, empty }: { caption: string; head: string[]; children: ComponentChildren; empty?: string | false }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="muted" style="text-align:left;padding:.3rem .6rem">
          {caption}
        </caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {children}
          {empty ? (
            <tr>
              <td colSpan={head.length} class="muted">
                {empty}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A list the page loads, as a Table: "Loading WHAT…" until it has come
 * (`items` undefined), then the row `children` makes of each item, and
 * `empty` when there is none.
 */
export function LoadedTable<T>(props: {
  what: string;
  items: T[] | undefined;
  caption: string;
  empty: string;
  head: string[];
  children: (item: T) => ComponentChildren;
}) {
  const { what, items, caption, empty, head, children } = props;
  if (items === undefined) return <Loading what={what} />;
  return (
    <Table caption={caption} head={head} empty={items.length === 0 && empty}>
      {items.map(children)}
    </Table>
  );
}

export function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** A step of a job as the history stores it: argv (operators), exit code, duration, output tail (operators). */
export function Steps({ steps }: { steps: any[] | undefined }) {
  if (!Array.isArray(steps) || steps.length === 0) return null;
  return (
    <ol class="steps">
      {steps.map((s) => (
        <li>
          <strong>{String(s.name ?? 'step')}</strong> <span class={s.ok ? 'ok' : 'bad'}>exit {String(s.exitCode)}</span>
          {s.signal ? <span class="bad"> signal {String(s.signal)}</span> : null}
          {s.timedOut ? <span class="bad"> timed out</span> : null} · {fmtMs(s.durationMs)}
          {Array.isArray(s.argv) ? (
            <div>
              argv: <code>{JSON.stringify(s.argv)}</code>
            </div>
          ) : null}
          {s.error ? <div class="bad">{String(s.error)}</div> : null}
          {typeof s.outputTail === 'string' && s.outputTail !== '' ? <pre aria-label={`output of ${String(s.name ?? 'step')}`}>{s.outputTail}</pre> : null}
        </li>
      ))}
    </ol>
  );
}
