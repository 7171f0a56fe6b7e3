import { ConfigError } from '../errors/index.js';
import type { CommandSource } from './command.js';

/** The rule named when a command uses shell syntax outside quotes. */
export const SHELL_OPERATOR_RULE =
  'commands are not run through a shell; shell operators (; | & > < ` $( ) are not allowed' + " — write `sh -c '...'` explicitly if you need a shell";

const VARIABLE_RULE =
  'commands are not run through a shell; $VARIABLES are not expanded' +
  " — quote a literal $ ('$x' or \\$x), set variables with the process env key," +
  " or write `sh -c '...'` explicitly if you need a shell";

const NEWLINE_RULE = 'commands are not run through a shell; a line break outside quotes would start a second command';

const OPERATORS = new Set([';', '|', '&', '>', '<', '`']);

/** After a `$`, these would make a shell expand something (`$HOME`, `${x}`, `$1`, `$?`). */
const EXPANSION_START = /^[A-Za-z0-9_{@*#?$!]$/;

/**
 * Splits a command string from the config into argv with shell-like quoting,
 * without ever involving a shell:
 * - blanks (space, tab) separate arguments;
 * - `'...'` is literal;
 * - `"..."` is literal except `\"` `\\` `\$` `` \` `` (and backslash-newline, dropped);
 * - a backslash outside quotes makes the next character literal (`\;` is a `;` argument).
 *
 * Anything a shell would act on is refused instead of silently passed as text:
 * unquoted `; | & > <`, line breaks, backticks and `$(` anywhere outside single
 * quotes, and `$NAME` / `${...}` expansions. `%s` is left for `expandArgv`.
 *
 * @throws ConfigError naming `where.file`, `where.key`, the text and the rule.
 */
export function parseCommand(text: string, where: CommandSource): string[] {
  const fail = (rule: string): never => {
    throw new ConfigError([{ file: where.file, key: where.key, value: text, rule }]);
  };
  const checkDollar = (at: number): void => {
    const next = text.charAt(at + 1);
    if (next === '(') fail(SHELL_OPERATOR_RULE);
    if (EXPANSION_START.test(next)) fail(VARIABLE_RULE);
  };

  if (text.includes('\0')) fail('a command must not contain NUL characters');

  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === ' ' || c === '\t') {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
      i += 1;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) fail('unterminated single quote');
      word += text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) fail('unterminated double quote');
        const d = text.charAt(i);
        if (d === '"') {
          i += 1;
          break;
        }
        if (d === '\\') {
          const next = text.charAt(i + 1);
          if (next === '\n') {
            i += 2;
          } else if (next !== '' && '"\\$`'.includes(next)) {
            word += next;
            i += 2;
          } else {
            word += d;
            i += 1;
          }
          continue;
        }
        if (d === '`') fail(SHELL_OPERATOR_RULE);
        if (d === '$') checkDollar(i);
        word += d;
        i += 1;
      }
    } else if (c === '\\') {
      if (i + 1 >= text.length) fail('a command must not end with a lone backslash');
      const next = text.charAt(i + 1);
      // Backslash-newline is a line continuation, as in a shell.
      if (next !== '\n') word += next;
      i += 2;
    } else if (c === '\n' || c === '\r') {
      fail(NEWLINE_RULE);
    } else if (OPERATORS.has(c)) {
      fail(SHELL_OPERATOR_RULE);
    } else {
      if (c === '$') checkDollar(i);
      word += c;
      i += 1;
    }
  }
  if (inWord) argv.push(word);
  if (argv.length === 0) fail('a command must not be empty');
  return argv;
}
