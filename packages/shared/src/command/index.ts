export type { Command, CommandList, CommandSource, CommandVars } from './command.js';
export { parseCommand, SHELL_OPERATOR_RULE } from './parse-command.js';
export { expandArgv } from './expand-argv.js';
