import { RE2JS } from 're2js';
import type { LogRuleConfig } from '@smgr/shared';

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

  constructor(readonly rule: LogRuleConfig) {
    this.pattern = RE2JS.compile(rule.pattern);
    this.redactions = [
      ...BUILTIN_REDACTIONS.map((r) => ({ re: RE2JS.compile(r.pattern), replacement: r.replacement })),
      ...rule.redact.map((p) => ({ re: RE2JS.compile(p), replacement: MASK })),
    ];
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
