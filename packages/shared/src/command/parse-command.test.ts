import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors/index.js';
import { parseCommand, SHELL_OPERATOR_RULE } from './parse-command.js';

const where = { file: '/etc/smgr/config.ini', key: 'process.nginx.start_command' };

function parseError(text: string): ConfigError {
  try {
    parseCommand(text, where);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseCommand', () => {
  it('splits on blanks and ignores repeated and surrounding blanks', () => {
    assert.deepEqual(parseCommand('  systemctl \t restart   nginx ', where), ['systemctl', 'restart', 'nginx']);
  });

  it('keeps single-quoted text literal, shell operators included', () => {
    assert.deepEqual(parseCommand("sh -c 'a; b | c && $(d) `e` > f'", where), ['sh', '-c', 'a; b | c && $(d) `e` > f']);
  });

  it('honours the four backslash escapes inside double quotes and keeps other backslashes', () => {
    assert.deepEqual(parseCommand('echo "a \\"b\\" \\\\ \\$x \\` \\n"', where), ['echo', 'a "b" \\ $x ` \\n']);
  });

  it('treats a backslash outside quotes as making the next character literal', () => {
    assert.deepEqual(parseCommand('find / -name x -exec rm {} \\; my\\ file', where), ['find', '/', '-name', 'x', '-exec', 'rm', '{}', ';', 'my file']);
  });

  it('joins adjacent quoted and unquoted parts into one argument and keeps empty quotes', () => {
    assert.deepEqual(parseCommand(`a"b c"'d e'f '' ""`, where), ['ab cd ef', '', '']);
  });

  it('leaves %s for expandArgv', () => {
    assert.deepEqual(parseCommand('pgrep -x -- %s', where), ['pgrep', '-x', '--', '%s']);
  });

  for (const text of ['a; b', 'a | b', 'a && b', 'a & ', 'a > f', 'a < f', 'a 2>&1', 'echo `id`', 'echo $(id)', 'echo "$(id)"', 'echo "`id`"']) {
    it(`rejects the unquoted shell syntax in ${JSON.stringify(text)} with the shell rule`, () => {
      const err = parseError(text);
      assert.deepEqual(err.details, [{ ...where, value: text, rule: SHELL_OPERATOR_RULE }]);
    });
  }

  it('rejects variable expansions that a shell would perform', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, written as the operator types it
    for (const text of ['echo $HOME', 'echo "${x}"', 'echo $1']) {
      assert.match(parseError(text).details[0]?.rule ?? '', /not expanded/);
    }
  });

  it('accepts a dollar sign that a shell would not expand', () => {
    assert.deepEqual(parseCommand('grep -E x$ \\$HOME', where), ['grep', '-E', 'x$', '$HOME']);
  });

  it('rejects a line break outside quotes but keeps one inside quotes', () => {
    assert.match(parseError('a\nb').message, /line break/);
    assert.deepEqual(parseCommand("sh -c 'a\nb'", where), ['sh', '-c', 'a\nb']);
  });

  it('rejects empty commands, unterminated quotes and a trailing backslash naming file, key and value', () => {
    for (const [text, rule] of [
      ['', /must not be empty/],
      ['   ', /must not be empty/],
      ["echo 'a", /unterminated single quote/],
      ['echo "a', /unterminated double quote/],
      ['echo a\\', /lone backslash/],
    ] as const) {
      const err = parseError(text);
      assert.match(err.message, rule);
      assert.ok(err.message.includes(where.file));
      assert.ok(err.message.includes(where.key));
      assert.equal(err.details[0]?.value, text);
    }
  });
});
