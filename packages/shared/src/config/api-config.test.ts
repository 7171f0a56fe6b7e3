import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { thrownBy, useIniDir } from '@smgr/testing';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from './index.js';

const dir = useIniDir('smgr-api-config-');
const writeConfig = (text: string): string => dir.write(text);

const configError = (fn: () => unknown): ConfigError => thrownBy(fn, ConfigError);

describe('[api] settings', () => {
  it('leaves the API off by default, with a 5 minute operation timeout and tokens that never expire', () => {
    const cfg = loadConfig({ file: writeConfig('[tls]\ninsecure = true\n'), env: {} });
    assert.equal(cfg.api.enabled, false);
    assert.equal(cfg.api.insecure, false);
    assert.equal(cfg.api.operationTimeoutMs, 300_000);
    assert.equal(cfg.api.tokenTtlMs, 0);
  });

  it('serves HTTPS with the [tls] certificate when [api] names none', () => {
    const cfg = loadConfig({
      file: writeConfig('[tls]\nca = /etc/smgr/ca.pem\ncert = /etc/smgr/c.pem\nkey = /etc/smgr/c.key\n[api]\nenabled = true\n'),
      env: {},
    });
    assert.equal(cfg.api.cert, '/etc/smgr/c.pem');
    assert.equal(cfg.api.key, '/etc/smgr/c.key');
  });

  it('prefers [api] cert and key over [tls] and converts days and seconds', () => {
    const cfg = loadConfig({
      file: writeConfig(
        '[tls]\nca = /a\ncert = /b\nkey = /c\n[api]\nenabled = yes\ncert = /api.pem\nkey = /api.key\ntoken_ttl_days = 2\noperation_timeout = 1.5\n',
      ),
      env: {},
    });
    assert.equal(cfg.api.cert, '/api.pem');
    assert.equal(cfg.api.key, '/api.key');
    assert.equal(cfg.api.tokenTtlMs, 2 * 86_400_000);
    assert.equal(cfg.api.operationTimeoutMs, 1_500);
  });

  it('refuses an enabled API without a certificate unless api.insecure is set, naming the keys', () => {
    const file = writeConfig('[tls]\ninsecure = true\n[api]\nenabled = true\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(
      err.details.map((d) => d.key),
      ['api.cert', 'api.key'],
    );
    assert.match(err.message, /api\.cert: required when api\.enabled = true/);
    const ok = loadConfig({ file, env: {}, overrides: ['api.insecure=true'] });
    assert.equal(ok.api.insecure, true);
    assert.equal(ok.api.cert, '');
  });

  it('reads SMGR_API_* environment variables and rejects unknown [api] keys and bad values', () => {
    const cfg = loadConfig({
      file: writeConfig('[tls]\ninsecure = true\n'),
      env: { SMGR_API_ENABLED: 'true', SMGR_API_INSECURE: 'true' },
    });
    assert.equal(cfg.api.enabled, true);
    const err = configError(() => loadConfig({ file: writeConfig('[tls]\ninsecure = true\n[api]\nport = 1\ntoken_ttl_days = -1\n'), env: {} }));
    const keys = err.details.map((d) => d.key).sort();
    assert.deepEqual(keys, ['api.port', 'api.token_ttl_days']);
  });
});
