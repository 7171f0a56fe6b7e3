import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useIniDir } from '@smgr/testing';
import { ExitCode } from '@smgr/shared';
import { CliError } from './cli-error.js';
import { readCliConfig, resolveSettings } from './cli-config.js';

const tmp = useIniDir('smgr-cli-config-');
const file = (name: string, text: string): string => tmp.write(text, name);
const configError = (fn: () => unknown): CliError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CliError);
    assert.equal(err.exitCode, ExitCode.CONFIG);
    return err;
  }
  assert.fail('expected a CliError');
};

describe('CLI settings', () => {
  it('takes flags over environment over the config file over the default URL', () => {
    const tokenFile = file('tok', ' smgr_from_file \n');
    const cfg = file('a.ini', `[cli]\nurl = https://file:7080\ntoken_file = ${tokenFile}\n`);
    const fromFile = resolveSettings({ config: cfg }, {});
    assert.equal(fromFile.url.origin, 'https://file:7080');
    assert.equal(fromFile.token, 'smgr_from_file');
    const fromEnv = resolveSettings({ config: cfg }, { SMGR_CLI_URL: 'http://env:1', SMGR_CLI_TOKEN: 'smgr_env' });
    assert.deepEqual([fromEnv.url.origin, fromEnv.token, fromEnv.tokenSource], ['http://env:1', 'smgr_env', 'SMGR_CLI_TOKEN']);
    const fromFlags = resolveSettings({ config: cfg, url: 'https://flag:2', token: 'smgr_flag' }, { SMGR_CLI_URL: 'http://env:1', SMGR_CLI_TOKEN: 'smgr_env' });
    assert.deepEqual([fromFlags.url.origin, fromFlags.token], ['https://flag:2', 'smgr_flag']);
    const none = resolveSettings({ config: file('empty.ini', '; nothing\n') }, {});
    assert.equal(none.url.href, 'https://127.0.0.1:7080/');
    assert.equal(none.token, undefined);
  });

  it('names the file, line and key of an unknown key or section, and refuses bad URLs and unreadable files', () => {
    assert.match(configError(() => readCliConfig(file('b.ini', '[cli]\nurl = x\ncolor = red\n'))).message, /b\.ini:3: cli\.color: unknown key/);
    assert.match(
      configError(() => readCliConfig(file('c.ini', '[client]\nurl = x\n'))).message,
      /c\.ini:1: \[client\]: unknown section \[client\]; the CLI reads only \[cli\]/,
    );
    assert.match(configError(() => readCliConfig(file('d.ini', 'url = x\n'))).message, /d\.ini:1: url: is outside any section/);
    assert.match(configError(() => resolveSettings({ url: 'ftp://x' }, {})).message, /must start with https:\/\/ or http:\/\//);
    assert.match(configError(() => resolveSettings({ tokenFile: join(tmp.path, 'missing') }, {})).message, /--token-file: cannot read token file .*ENOENT/);
    assert.match(configError(() => resolveSettings({ tokenFile: file('blank', '\n') }, {})).message, /is empty/);
    assert.match(configError(() => resolveSettings({ ca: join(tmp.path, 'nope.pem') }, {})).message, /--ca: cannot read CA file/);
  });

  it('reads quoted values and ignores comments', () => {
    const m = readCliConfig(file('e.ini', '# comment\n[cli]\n; another\nurl = "https://q:1"\n'));
    assert.equal(m.get('url'), 'https://q:1');
  });
});
