import type { ConfigErrorDetail } from '../errors/index.js';

/** One setting as written: `key = value`, or `key[] = value` lines gathered into a list. */
export interface IniEntry {
  readonly value: string | readonly string[];
  /** 1-based line of the assignment (the first one of a list). */
  readonly line: number;
}

/** A `[section]`; a repeated header continues the same section. */
export interface IniSection {
  /** 1-based line of its first header. */
  readonly line: number;
  /** In file order. */
  readonly entries: Map<string, IniEntry>;
}

/** What `readIni` found: sections in file order, and every problem with its line. */
export interface IniDocument {
  readonly sections: Map<string, IniSection>;
  readonly problems: ConfigErrorDetail[];
}

export interface ReadIniOptions {
  /** Named in every problem, as `file:line`. */
  readonly file: string;
  /**
   * Keys whose values are commands: read verbatim so shell quoting survives
   * (`sh -c 'a; b'`); only a `#` starting a word outside quotes begins a comment.
   */
  readonly verbatimKeys?: ReadonlySet<string>;
}

export const COMMENT_RULE =
  'an unescaped ; or # starts a comment in an INI file, so this value would be cut there;' +
  ' quote the whole value ("...") or escape the character (\\; or \\#)';

const HEADER = /^\[([^\]]*)\](.*)$/;

/**
 * Reads INI text, the format of the seed's config.ini and of the CLI's
 * cli.ini, line by line so every problem names its line:
 * - `[section]` headers, optionally followed by a `; comment` or `# comment`;
 *   section names are taken whole (`[process.php-fpm7.4]` is one section).
 *   A malformed header is one problem; the keys under it are skipped rather
 *   than each reported again as being outside any section.
 * - `key = value`; a `;` or `#` after whitespace starts a comment. One glued
 *   to the text before it (`pass;word`) is a problem instead of a silent cut.
 *   `"..."` (JSON escapes) or `'...'` quote a whole value; `\;`, `\#`, `\\`
 *   escape outside quotes.
 * - `key[] = value` lines build a list (alternatives, `env[]`).
 * - Lines starting with `;` or `#` are comments.
 *
 * Values stay text ("true", "300"): the schema decides what they mean. Keys
 * set twice in a section are a problem, so a forgotten line never silently wins.
 */
export function readIni(text: string, opts: ReadIniOptions): IniDocument {
  const { file } = opts;
  const verbatim = opts.verbatimKeys ?? new Set<string>();
  const problems: ConfigErrorDetail[] = [];
  const sections = new Map<string, IniSection>();
  // undefined: before any header; null: under a header that could not be read.
  let current: IniSection | null | undefined;
  let currentName = '';

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const line = i + 1;
    const trimmed = (lines[i] ?? '').trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) continue;

    if (trimmed.startsWith('[')) {
      const m = HEADER.exec(trimmed);
      const rest = m?.[2]?.trim() ?? '';
      const name = (m?.[1] ?? '').trim().replace(/\\\./g, '.');
      let rule: string | undefined;
      if (m === null) rule = 'is not a section header: the closing ] is missing';
      else if (rest !== '' && !rest.startsWith(';') && !rest.startsWith('#')) {
        rule = 'is not a section header: only a ; or # comment may follow the closing ]';
      } else if (name === '') rule = 'is an empty section name';
      if (rule !== undefined) {
        problems.push({ file, line, key: trimmed, rule });
        current = null;
        continue;
      }
      currentName = name;
      current = sections.get(name);
      if (current === undefined) {
        current = { line, entries: new Map() };
        sections.set(name, current);
      }
      continue;
    }
    // Under a header already reported: its keys cannot be placed, and saying so again helps no one.
    if (current === null) continue;

    const eq = trimmed.indexOf('=');
    const keyText = (eq < 0 ? trimmed : trimmed.slice(0, eq)).trim();
    const isList = keyText.length > 2 && keyText.endsWith('[]');
    const key = isList ? keyText.slice(0, -2).trim() : keyText;
    const dotted = current === undefined ? key : `${currentName}.${key}`;
    if (eq < 0) {
      problems.push({ file, line, key: dotted, rule: 'has no value; write key = value' });
      continue;
    }
    if (key === '') {
      problems.push({ file, line, key: trimmed, rule: 'has no key before the =; write key = value' });
      continue;
    }
    if (current === undefined) {
      // No value here: it may be a password, and the section it belongs to is unknown.
      problems.push({ file, line, key, rule: 'is outside any section; put it under a [section] header' });
      continue;
    }

    const raw = trimmed.slice(eq + 1).trim();
    let value: string;
    if (verbatim.has(key)) {
      value = stripShellComment(raw);
    } else {
      const read = readValue(raw);
      if (typeof read !== 'string') {
        problems.push({ file, line, key: dotted, value: raw, rule: read.rule });
        continue;
      }
      value = read;
    }

    const previous = current.entries.get(key);
    if (isList) {
      if (previous === undefined || typeof previous.value === 'string') {
        if (previous !== undefined) problems.push(twice(file, line, dotted, previous.line));
        current.entries.set(key, { value: [value], line });
      } else {
        current.entries.set(key, { value: [...previous.value, value], line: previous.line });
      }
      continue;
    }
    if (previous !== undefined) problems.push(twice(file, line, dotted, previous.line));
    current.entries.set(key, { value, line });
  }
  return { sections, problems };
}

function twice(file: string, line: number, key: string, first: number): ConfigErrorDetail {
  return { file, line, key, rule: `is set twice in its section (first on line ${first}); keep one, or write key[] = lines for a list` };
}

/** A value outside commands: quoted whole, or text up to a ` ; comment`. */
function readValue(raw: string): string | { rule: string } {
  const q = raw.charAt(0);
  if (q === '"' || q === "'") {
    let end = -1;
    for (let i = 1; i < raw.length; i += 1) {
      const c = raw.charAt(i);
      if (q === '"' && c === '\\') i += 1;
      else if (c === q) {
        end = i;
        break;
      }
    }
    if (end < 0) return { rule: `has no closing ${q}; quote the whole value` };
    const after = raw.slice(end + 1).trim();
    if (after !== '' && !after.startsWith(';') && !after.startsWith('#')) {
      return { rule: `has text after its closing ${q}; quote the whole value, or start a comment with ; or #` };
    }
    const inner = raw.slice(0, end + 1);
    if (q === "'") return inner.slice(1, -1);
    try {
      return JSON.parse(inner) as string;
    } catch {
      return { rule: 'is not a valid double-quoted string (JSON escapes: \\" \\\\ \\n)' };
    }
  }
  let out = '';
  for (let i = 0; i < raw.length; i += 1) {
    const c = raw.charAt(i);
    if (c === '\\' && i + 1 < raw.length && ';#\\'.includes(raw.charAt(i + 1))) {
      out += raw.charAt(i + 1);
      i += 1;
    } else if (c === ';' || c === '#') {
      if (i > 0 && !/\s/.test(raw.charAt(i - 1))) return { rule: COMMENT_RULE };
      break;
    } else {
      out += c;
    }
  }
  return out.trim();
}

/**
 * Drops a shell-style comment: a `#` starting a word outside quotes. `;`
 * stays, so `a ; b` reaches parseCommand and is refused as a shell operator
 * rather than silently losing `b`.
 */
export function stripShellComment(value: string): string {
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charAt(i);
    if (quote === "'") {
      if (c === "'") quote = '';
    } else if (quote === '"') {
      if (c === '\\') i += 1;
      else if (c === '"') quote = '';
    } else if (c === '\\') {
      i += 1;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(value.charAt(i - 1)))) {
      return value.slice(0, i).trim();
    }
  }
  return value;
}
