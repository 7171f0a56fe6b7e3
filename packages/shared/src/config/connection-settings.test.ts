import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { thrownBy, useIniDir } from '@smgr/testing';
import { ConfigError } from '../errors/index.js';
import { loadConfig, type SmgrConfig } from './index.js';

const dir = useIniDir('smgr-conn-config-');

function load(text: string): SmgrConfig {
  return loadConfig({ file: dir.write(`${text}\n[tls]\ninsecure = true\n`), env: {} });
}

const configError = (text: string): ConfigError => thrownBy(() => load(text), ConfigError);

describe('connection settings: database socket, Redis URL forms, controller lease', () => {
  it('database.socket is undefined unless set, and then holds the socket path', () => {
    assert.equal(load('[database]\nhost = db1').database.socket, undefined);
    assert.equal(load('[database]\nsocket = /run/mysqld/mysqld.sock').database.socket, '/run/mysqld/mysqld.sock');
  });

  it('redis.url accepts redis://, rediss:// and unix:// with an absolute path', () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://cache:6380/2', 'unix:///run/redis/redis.sock', 'unix:///tmp/r.sock?db=3']) {
      assert.equal(load(`[redis]\nurl = ${url}`).redis.url, url);
    }
  });

  it('a unix URL without an absolute path, or another scheme, is refused naming key and rule', () => {
    for (const url of ['unix://relative/redis.sock', 'unix:', 'http://127.0.0.1:6379', '127.0.0.1:6379']) {
      const err = configError(`[redis]\nurl = ${url}`);
      assert.match(err.message, /redis\.url/);
      assert.match(err.message, /unix:\/\/\/path\/to\/redis\.sock/);
    }
  });

  it('controller.lease_ttl defaults to 5 s, is read in seconds, and must be positive', () => {
    assert.equal(load('').controller.leaseTtlMs, 5_000);
    assert.equal(load('[controller]\nlease_ttl = 2.5').controller.leaseTtlMs, 2_500);
    assert.match(configError('[controller]\nlease_ttl = 0').message, /controller\.lease_ttl/);
  });
});
