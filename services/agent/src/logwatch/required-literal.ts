/**
 * The longest run of plain characters every match of an RE2 pattern must
 * contain, or null when none is sure. A line without it cannot match, so the
 * log watch skips it at the byte level: no string is made for it and RE2 does
 * not run (at 10 MB/s of log lines that is most of the agent's allocation and
 * CPU). Conservative by construction: anything it does not fully understand
 * (alternation, flags, groups' contents, escapes other than punctuation and
 * the usual classes) gives a shorter literal or none, never a wrong one.
 */
export function requiredLiteral(pattern: string): string | null {
  // Alternation makes no literal required; flags may fold case; \Q…\E quotes.
  if (pattern.includes('|') || pattern.includes('(?') || pattern.includes('\\Q')) return null;
  const cs = Array.from(pattern);
  let best = '';
  let run = '';
  /** The last atom was a literal character appended to `run` (a quantifier after it makes it optional). */
  let lastLiteral = false;
  let depth = 0;
  const flush = () => {
    if (run.length > best.length) best = run;
    run = '';
    lastLiteral = false;
  };
  const literal = (c: string) => {
    if (depth === 0) {
      run += c;
      lastLiteral = true;
    } else lastLiteral = false;
  };
  for (let i = 0; i < cs.length; ) {
    const c = cs[i]!;
    if (c === '\\') {
      const d = cs[i + 1];
      if (d === undefined) return null;
      if (/^[!-/:-@[-`{-~]$/.test(d)) literal(d);
      else if ('dDsSwWbBAz'.includes(d)) flush();
      else return null; // \x41, \p{Greek}, octal, \n…: not worth the risk
      i += 2;
      continue;
    }
    switch (c) {
      case '[': {
        flush();
        let j = i + 1;
        if (cs[j] === '^') j += 1;
        if (cs[j] === ']') j += 1;
        while (j < cs.length && cs[j] !== ']') {
          if (cs[j] === '[') return null; // [[:alpha:]] and the like
          j += cs[j] === '\\' ? 2 : 1;
        }
        if (j >= cs.length) return null;
        i = j + 1;
        continue;
      }
      case '(':
        flush();
        depth += 1;
        break;
      case ')':
        flush();
        depth -= 1;
        break;
      case '*':
      case '?':
      case '{': {
        // The atom before is optional (or repeated a number of times that may be 0).
        if (lastLiteral) run = Array.from(run).slice(0, -1).join('');
        flush();
        if (c === '{') {
          const close = cs.indexOf('}', i);
          if (close < 0) return null;
          i = close + 1;
          continue;
        }
        break;
      }
      case '+':
        // At least once: the run so far (with its last character) is required, but what follows may not be next to it.
        flush();
        break;
      case '.':
      case '^':
      case '$':
        flush();
        break;
      default:
        literal(c);
    }
    i += 1;
  }
  flush();
  return best.length >= 3 && !best.includes('\uFFFD') ? best : null;
}
