/** STATUS_PROCESS.notes is VARCHAR(100) in the seed schema. */
export const NOTES_MAX_CHARS = 100;

/** "2026-11-22 02:10:03Z" in UTC: sortable, unambiguous, 20 characters. */
export function noteTimestamp(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/**
 * A short history line for `notes`: a timestamp and a message, cut to 100
 * characters on a code-point boundary (never half a surrogate pair), with an
 * ellipsis when cut. The full record goes to smgr_events.
 */
export function formatNote(at: Date, message: string): string {
  const oneLine = message.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '?');
  return truncateChars(`${noteTimestamp(at)} ${oneLine}`, NOTES_MAX_CHARS);
}

export function truncateChars(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, max - 1).join('')}…`;
}
