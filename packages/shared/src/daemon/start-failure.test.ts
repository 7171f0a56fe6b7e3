import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ExitCode, UnavailableError } from '../errors/index.js';
import { describeStartFailure } from './start-failure.js';

describe('describeStartFailure', () => {
  it('a ConfigError is exit 78 on one line, several details joined', () => {
    const f = describeStartFailure(
      new ConfigError([
        { file: 'a.ini', key: 'tls.cert', value: '/x.pem', rule: 'cannot read file (ENOENT)' },
        { file: 'a.ini', key: 'tls.key', value: '/x.key', rule: 'cannot read file (ENOENT)' },
      ]),
    );
    assert.equal(f.exitCode, ExitCode.CONFIG);
    assert.equal(f.line, 'invalid configuration: a.ini: tls.cert = "/x.pem": cannot read file (ENOENT); a.ini: tls.key = "/x.key": cannot read file (ENOENT)');
  });

  it('an UnavailableError is exit 69 with its message', () => {
    const f = describeStartFailure(new UnavailableError('REDIS_UNAVAILABLE', 'Redis at 127.0.0.1:6379 (redis.url) is unreachable: connection refused'));
    assert.deepEqual(f, { exitCode: 69, code: 'REDIS_UNAVAILABLE', line: 'Redis at 127.0.0.1:6379 (redis.url) is unreachable: connection refused' });
  });

  it('anything else is exit 1, never 0, with the first line of its message', () => {
    const f = describeStartFailure(new TypeError('boom'));
    assert.equal(f.exitCode, ExitCode.FAILURE);
    assert.equal(f.line, 'failed to start: boom');
    assert.equal(describeStartFailure(undefined).exitCode, ExitCode.FAILURE);
  });
});
