/** Fields of a stored step that only operators and admins see: a command line or its output may hold secrets. */
const OPERATOR_ONLY = new Set(['argv', 'outputTail']);

/** `detail` without argv and output tails anywhere inside it; the keys removed are listed in `redacted`. */
export function redactForViewer(detail: unknown): unknown {
  if (Array.isArray(detail)) return detail.map(redactForViewer);
  if (detail === null || typeof detail !== 'object') return detail;
  const out: Record<string, unknown> = {};
  const removed: string[] = [];
  for (const [k, v] of Object.entries(detail)) {
    if (OPERATOR_ONLY.has(k)) removed.push(k);
    else out[k] = redactForViewer(v);
  }
  if (removed.length > 0) out.redacted = removed;
  return out;
}
