import { isIP } from 'node:net';
import mysql from 'mysql2/promise';
import { ConfigError, readPem, type SmgrConfig } from '@smgr/shared';

export type DbPool = mysql.Pool;

/** Loopback: the only place plaintext MySQL is allowed without `database.allow_plaintext`. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/**
 * mysql2's `ssl` option for `[database]`: TLS with the server certificate
 * verified against `ssl_ca` (and its name against `host`) unless
 * `ssl_verify = false`; undefined for plaintext, which is refused towards a
 * host that is not loopback unless `allow_plaintext = true`. Unreadable files
 * are ConfigErrors naming the key.
 */
export function databaseSsl(db: SmgrConfig['database'], source = 'config'): mysql.SslOptions | undefined {
  const ca = db.sslCa ?? '';
  if (ca === '') {
    if (db.sslCert || db.sslKey) {
      throw new ConfigError([
        {
          file: source,
          key: 'database.ssl_ca',
          value: '',
          rule: 'must be set when database.ssl_cert or database.ssl_key is (TLS needs the CA that signed the server)',
        },
      ]);
    }
    if (!db.socket && !isLoopbackHost(db.host) && db.allowPlaintext !== true) {
      throw new ConfigError([
        {
          file: source,
          key: 'database.ssl_ca',
          value: '',
          rule: `is required for MySQL on ${db.host}, which is not loopback: set database.ssl_ca to the CA of the MySQL server certificate, or database.allow_plaintext = true to send the password and data in clear`,
        },
      ]);
    }
    return undefined;
  }
  if (Boolean(db.sslCert) !== Boolean(db.sslKey)) {
    const missing = db.sslCert ? 'database.ssl_key' : 'database.ssl_cert';
    throw new ConfigError([{ file: source, key: missing, value: '', rule: 'database.ssl_cert and database.ssl_key go together' }]);
  }
  return {
    ca: readPem(ca, 'database.ssl_ca', source).toString(),
    ...(db.sslCert ? { cert: readPem(db.sslCert, 'database.ssl_cert', source).toString() } : {}),
    ...(db.sslKey ? { key: readPem(db.sslKey, 'database.ssl_key', source).toString() } : {}),
    rejectUnauthorized: db.sslVerify !== false,
    // mysql2 checks the certificate's name against database.host only when asked to.
    verifyIdentity: db.sslVerify !== false,
  };
}

/** TLS errors from the MySQL handshake that waiting will not fix: the certificate is not trusted or not for this host. */
const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HANDSHAKE_NO_SSL_SUPPORT',
]);

/**
 * The ConfigError for a MySQL connection error that is a refused server
 * certificate (or a server without TLS), else null: such errors end start-up
 * with exit 78 instead of being retried as an outage.
 */
export function databaseTlsError(err: unknown, db: SmgrConfig['database'], source = 'config'): ConfigError | null {
  const e = err as { code?: string; message?: string; cause?: { code?: string } } | null;
  const code = [e?.code, e?.cause?.code].find((c): c is string => c !== undefined && TLS_VERIFY_CODES.has(c));
  // Some paths lose node's code (a pooled connection, a wrapped handshake error); the message still says it.
  const byMessage =
    !code && /self[- ]signed certificate|unable to (verify|get (local )?issuer)|certificate has expired|Hostname\/IP does not match/i.test(e?.message ?? '');
  if (!code && !byMessage) return null;
  const what =
    code === 'HANDSHAKE_NO_SSL_SUPPORT'
      ? `the MySQL server at ${db.host} does not offer TLS`
      : `the MySQL server certificate was refused (${e?.message ?? code}); database.ssl_ca must be the CA that signed it and database.host a name or address in it`;
  return new ConfigError([{ file: source, key: 'database.ssl_ca', value: db.sslCa ?? '', rule: what }], { cause: err });
}

/** A mysql2 pool for the `[database]` section. */
export function createDbPool(db: SmgrConfig['database'], source = 'config'): DbPool {
  const ssl = databaseSsl(db, source);
  const pool = mysql.createPool({
    ...(db.socket ? { socketPath: db.socket } : { host: db.host, port: db.port }),
    user: db.user,
    password: db.password,
    database: db.database,
    connectionLimit: db.connectionLimit,
    ...(ssl ? { ssl } : {}),
    // Times are written as UTC and compared in SQL; never trust the server's zone.
    timezone: 'Z',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    // A dead MySQL must surface as an error in seconds, not hang a poll.
    connectTimeout: 5_000,
    enableKeepAlive: true,
    charset: 'utf8mb4',
  });
  // An idle pooled connection dies with the server (outage, restart); mysql2
  // emits that on the connection, and unhandled it would kill the daemon. The
  // pool drops the dead connection and the next query reports the outage.
  pool.on('connection', (conn) => {
    conn.on('error', () => undefined);
  });
  return pool;
}
