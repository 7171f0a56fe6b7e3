/**
 * Control characters a terminal would act on: C0 except newline and tab,
 * DEL, C1 (a lone 0x9b is CSI on some terminals), and the bidirectional
 * overrides that make text read differently from what it is.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from agents and the database made inert before it reaches a terminal:
 * every control character is shown as a visible escape (`\x1b`, `\u202e`), so
 * a service name or output tail cannot move the cursor, retitle the window,
 * or hide what follows. Every printer of the CLI writes through this.
 */
export function safeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
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
