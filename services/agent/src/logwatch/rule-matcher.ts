import { RE2JS } from 're2js';
import type { LogRuleConfig } from '@smgr/shared';
import { requiredLiteral } from './required-literal.js';

/** What a rule reports when it triggers. */
export interface RuleTrigger {
  rule: LogRuleConfig;
  file: string;
  /** The line that completed the count, clipped and redacted. */
  line: string;
  /** Matches within the window (= rule.count). */
  matches: number;
}

/**
 * Secrets that never leave the host in a reported line: key=value or
 * key: value pairs whose key says password, secret, token or key, and
 * Authorization headers. RE2 syntax, matched case-insensitively.
 */
const BUILTIN_REDACTIONS: readonly { pattern: string; replacement: string }[] = [
  {
    pattern:
      '(?i)(pass(?:word)?|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|session)(["\']?\\s*[=:]\\s*)("[^"]*"|\'[^\']*\'|[^\\s,;&]+)',
    replacement: '$1$2***',
  },
  { pattern: '(?i)(authorization\\s*[=:]\\s*)(?:(?:bearer|basic)\\s+)?[^\\s,;]+', replacement: '$1***' },
  { pattern: '(?i)(bearer\\s+)[A-Za-z0-9._~+/=-]{8,}', replacement: '$1***' },
];

const MASK = '***';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * One rule's decision, pure and bounded: a line matches the rule's RE2
 * pattern (linear time, no backtracking blow-up); the rule triggers when
 * `count` matches fall within `window`, then starts counting afresh. Memory:
 * at most `count` timestamps.
 */
export class RuleMatcher {
  private readonly pattern: RE2JS;
  private readonly redactions: { re: RE2JS; replacement: string }[];
  private hits: number[] = [];
  /** UTF-8 of a literal every match contains (required-literal.ts), or null: every line goes to RE2. */
  readonly literal: Buffer | null;

  constructor(readonly rule: LogRuleConfig) {
    this.pattern = RE2JS.compile(rule.pattern);
    const lit = requiredLiteral(rule.pattern);
    this.literal = lit === null ? null : Buffer.from(lit, 'utf8');
    this.redactions = [
      ...BUILTIN_REDACTIONS.map((r) => ({ re: RE2JS.compile(r.pattern), replacement: r.replacement })),
      ...rule.redact.map((p) => ({ re: RE2JS.compile(p), replacement: MASK })),
    ];
  }

  /** The next place of the literal in the bytes of `scanSeq` at or after the line asked last (-1: none left; -2: not searched). */
  private nextAt = -2;
  private scanSeq = -1;

  /**
   * False when the line at bytes [start, end) of `buf` cannot match: it
   * lacks the required literal. Lines of one buffer (`seq`, a fresh number
   * for each buffer the follower splits) come in order, so one search serves
   * every line up to the next occurrence: linear in the buffer.
   */
  mayMatch(buf: Buffer, start: number, end: number, seq: number): boolean {
    if (this.literal === null) return true;
    if (seq !== this.scanSeq) {
      this.scanSeq = seq;
      this.nextAt = -2;
    }
    if (this.nextAt === -2 || (this.nextAt >= 0 && this.nextAt < start)) this.nextAt = buf.indexOf(this.literal, start);
    return this.nextAt >= 0 && this.nextAt + this.literal.length <= end;
  }

  /** Feeds one line seen at `now` (ms); a trigger when this match completes the count. */
  feed(file: string, line: string, now: number): RuleTrigger | null {
    if (!this.pattern.test(line)) return null;
    const since = now - this.rule.windowMs;
    this.hits = this.hits.filter((t) => t > since);
    this.hits.push(now);
    if (this.hits.length < this.rule.count) return null;
    const matches = this.hits.length;
    this.hits = [];
    return { rule: this.rule, file, line: this.clean(line), matches };
  }

  /** Clipped to max_line bytes (before redaction, so a secret cut in half is still caught), secrets masked, control characters shown as \u. */
  clean(line: string): string {
    let out = clipBytes(line, this.rule.maxLineBytes);
    for (const { re, replacement } of this.redactions) out = re.matcher(out).replaceAll(replacement);
    return out.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
}

function clipBytes(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return s;
  // Cut on a character boundary, and say it was cut.
  return `${b
    .subarray(0, max)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}…`;
}
