import ini from 'ini';
import type { ConfigErrorDetail } from '../errors/index.js';
import type { ConfigFileContents, SectionValues } from './config-file.js';

/** ini 5's own line grammar: a `[section]` header or `key[ = value]`. */
const LINE = /^\[([^\]]*)\]\s*$|^([^=]+)(=(.*))?$/;

const COMMENT_RULE =
  'an unescaped ; or # starts a comment in config.ini, so this value would be cut there;' +
  ' quote the whole value ("...") or escape the character (\\; or \\#)';

/**
 * Reads config.ini text with the `ini` package, working around what it does
 * to smgr settings:
 * - ini nests dotted section names ([process.php-fpm7.4] becomes
 *   process -> php-fpm7 -> 4), and a later [process.php-fpm7] then replaces
 *   that nest, losing [process.php-fpm7.4] entirely; it also orders
 *   integer-like names first. So sections are split here, in file order, and
 *   ini parses each section's lines on their own.
 * - ini cuts values at any `;` or `#` (inline comments) and strips quotes
 *   around a whole value. Command values need shell quoting intact
 *   (`sh -c 'a; b'`), so `verbatimKeys` are read verbatim: only a `#` at the
 *   start of a word outside quotes begins a comment there, as in a shell. For
 *   other keys a `;`/`#` glued to the text before it (`pass;word`) is reported
 *   instead of silently cut; ` ; comment` after a value stays a comment.
 * - ini turns "true"/"false"/"null" into JSON values; values go back to text
 *   so every key coerces the same way whether it came from a file or env.
 */
export function parseIniConfig(
  text: string,
  file: string,
  verbatimKeys: ReadonlySet<string>,
): ConfigFileContents {
  const problems: ConfigErrorDetail[] = [];
  const bodies = new Map<string, string[]>();
  const outside: string[] = [];
  let body = outside;
  let section: string | undefined;

  for (const line of text.split(/[\r\n]+/g)) {
    if (line.trim() === '' || /^\s*[;#]/.test(line)) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    if (m[1] !== undefined) {
      section = ini.unsafe(m[1]).replace(/\\\./g, '.');
      // A repeated header continues the section, as ini merges them.
      body = bodies.get(section) ?? [];
      bodies.set(section, body);
      continue;
    }
    const keyText = m[2] ?? '';
    let key = ini.unsafe(keyText);
    if (key.length > 2 && key.endsWith('[]')) key = key.slice(0, -2);
    const dotted = section === undefined ? key : `${section}.${key}`;
    if (m[3] === undefined) {
      // ini reads a bare word as `true`; a bare start_command would then run /bin/true.
      const rule = line.trimStart().startsWith('[')
        ? 'is not a section header: nothing may follow the closing ]'
        : 'has no value; write key = value';
      problems.push({ file, key: dotted, rule });
      continue;
    }
    const raw = (m[4] ?? '').trim();
    if (verbatimKeys.has(key)) {
      // A JSON string is the one value form ini hands back unchanged.
      body.push(`${keyText}=${JSON.stringify(stripShellComment(raw))}`);
      continue;
    }
    if (cutsInsideWord(raw)) problems.push({ file, key: dotted, value: raw, rule: COMMENT_RULE });
    body.push(line);
  }

  for (const [key, value] of Object.entries(ini.decode(outside.join('\n')))) {
    problems.push({ file, key, value: asText(value), rule: 'is outside any section; put it under a [section] header' });
  }
  const sections = new Map<string, SectionValues>();
  for (const [name, lines] of bodies) {
    const values: SectionValues = new Map();
    for (const [key, value] of Object.entries(ini.decode(lines.join('\n')))) values.set(key, asText(value));
    sections.set(name, values);
  }
  return { sections, problems };
}

function asText(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(asText);
  return typeof v === 'boolean' || v === null ? String(v) : v;
}

/**
 * Whether ini would cut an unquoted value at a `;` or `#` glued to the text
 * before it (mirrors ini's `unsafe`).
 */
function cutsInsideWord(value: string): boolean {
  const quoted = value.length > 1 && /^(".*"|'.*')$/.test(value);
  if (quoted) return false;
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charAt(i);
    if (c === '\\') {
      i += 1;
    } else if (c === ';' || c === '#') {
      return i > 0 && !/\s/.test(value.charAt(i - 1));
    }
  }
  return false;
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
