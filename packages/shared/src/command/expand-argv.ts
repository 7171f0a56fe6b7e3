import type { Command, CommandVars } from './command.js';

/**
 * Fills a parsed command template: every `%s` inside an element becomes
 * `vars.name` and `%%` becomes `%`. Each element stays exactly one element
 * whatever the name contains (blanks, `;`, `$(...)`, quotes, newlines, a
 * leading `-`), because the result is an argv, never re-parsed by a shell.
 * Put `--` before `%s` where the program supports it so a name starting with
 * `-` cannot be read as an option.
 */
export function expandArgv(argv: Command, vars: CommandVars): string[] {
  // A replacer function, not a replacement string: `$&` in a name stays literal.
  return argv.map((arg) => arg.replace(/%[%s]/g, (m) => (m === '%%' ? '%' : vars.name)));
}
