import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@smgr/shared';
import { databaseSsl, databaseTlsError, isLoopbackHost } from './pool.js';

const db = { host: 'db.example.org', port: 3306, user: 'smgr', password: 'x', database: 'v', connectionLimit: 1, socket: undefined };

describe('databaseSsl', () => {
  it('refuses plaintext to a host that is not loopback, naming database.ssl_ca and database.allow_plaintext', () => {
    assert.throws(
      () => databaseSsl(db, 'f.ini'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.details[0]?.key, 'database.ssl_ca');
        assert.match(err.message, /not loopback.*database\.allow_plaintext = true/);
        return true;
      },
    );
  });

  it('allows plaintext on loopback, over a socket, or when allow_plaintext is set', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1']) assert.equal(databaseSsl({ ...db, host }), undefined, host);
    assert.equal(databaseSsl({ ...db, socket: '/run/mysqld/mysqld.sock' }), undefined);
    assert.equal(databaseSsl({ ...db, allowPlaintext: true }), undefined);
    assert.equal(isLoopbackHost('128.0.0.1'), false);
  });

  it('names the missing half of a client certificate and an unreadable CA file', () => {
    assert.throws(() => databaseSsl({ ...db, sslCert: '/c.pem' }), /database\.ssl_ca/);
    assert.throws(
      () => databaseSsl({ ...db, sslCa: '/nonexistent/ca.pem' }),
      (err: unknown) => err instanceof ConfigError && /database\.ssl_ca.*ENOENT/.test(err.message),
    );
  });

  it('maps a refused server certificate to a ConfigError and leaves outages alone', () => {
    const refused = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    assert.match(databaseTlsError(refused, db)?.message ?? '', /database\.ssl_ca.*refused/);
    assert.equal(databaseTlsError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), db), null);
  });
});
