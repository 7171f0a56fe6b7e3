/**
 * Control characters a terminal would act on: C0 except newline and tab,
 * DEL, C1 (a lone 0x9b is CSI on some terminals), and the bidirectional
 * overrides that make text read differently from what it is.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The colour sequences the CLI's own paint (picocolors: red, green, yellow,
 * bold, dim and their resets) writes: kept, so coloured output survives the
 * sanitizer. At worst a hostile string can colour itself with them; it can
 * never move the cursor, conceal text or change the window.
 */
// eslint-disable-next-line no-control-regex
const OWN_SGR_OR_UNSAFE = new RegExp(`(\u001b\\[(?:31|32|33|39|1|2|22)m)|${UNSAFE.source}`, 'g');

/**
 * Text from agents and the database made inert before it reaches a terminal:
 * every control character is shown as a visible escape (`\x1b`, `\u202e`), so
 * a service name or output tail cannot move the cursor, retitle the window,
 * or hide what follows. Every printer of the CLI writes through this.
 */
export function safeText(text: string): string {
  return text.replace(OWN_SGR_OR_UNSAFE, (c: string, own: string | undefined) => {
    if (own) return own;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** One table cell: safe, and on one line. */
export function safeCell(text: string): string {
  return safeText(text).replace(/[\n\t]/g, ' ');
}

/** --json output: the same value, with every control character JSON leaves raw (C1, bidi) written as a JSON `\uXXXX` escape. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
