import { ConfigError, type SmgrConfig } from '@smgr/shared';

/** A dependency the controller needs at start, as the operator configured it. */
export interface Dependency {
  /** "MySQL" or "Redis". */
  name: string;
  /** Where it was tried: host:port or a socket path; never a URL with credentials. */
  address: string;
  /** The config keys that say where it is, e.g. "redis.url". */
  keys: string;
  /** The config file, named in a ConfigError. */
  source: string;
}

/** Node's connect error codes in words an operator reads without a manual. */
const PLAIN: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ENOENT: 'no such socket',
  EACCES: 'permission denied',
  EPIPE: 'connection closed',
  PROTOCOL_CONNECTION_LOST: 'connection lost',
};

/**
 * Why a connection failed, in a few plain words. A host name with several
 * addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError whose
 * own message is empty and whose parts repeat "connect ECONNREFUSED …": one
 * reason is said once.
 */
export function plainReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { errors?: unknown[] };
  const code = e?.code ?? (Array.isArray(e?.errors) ? (e.errors[0] as NodeJS.ErrnoException | undefined)?.code : undefined);
  if (code !== undefined && PLAIN[code] !== undefined) return PLAIN[code];
  const message = (e instanceof Error ? e.message : String(err)).split('\n')[0]?.trim() ?? '';
  return message || code || 'unknown error';
}

/** MySQL/MariaDB as `[database]` names it. */
export function mysqlDependency(db: SmgrConfig['database'], source: string): Dependency {
  return db.socket
    ? { name: 'MySQL', address: db.socket, keys: 'database.socket', source }
    : { name: 'MySQL', address: `${db.host}:${db.port}`, keys: 'database.host, database.port', source };
}

/** Redis as `[redis] url` names it, without the password. */
export function redisDependency(url: string, source: string): Dependency {
  const u = new URL(url);
  const address = u.protocol === 'unix:' ? decodeURIComponent(u.pathname) : `${u.hostname || '127.0.0.1'}:${u.port || '6379'}`;
  return { name: 'Redis', address, keys: 'redis.url', source };
}

/**
 * A MySQL error that retrying cannot cure, as a ConfigError naming the keys
 * to fix (exit 78 at once); undefined for errors worth retrying (the server
 * is down, starting, restarting).
 */
export function mysqlConfigError(err: unknown, dep: Dependency, db: SmgrConfig['database']): ConfigError | undefined {
  // A migration's error comes wrapped (umzug: "Migration … failed: Original error: …"): look through to MySQL's own.
  let inner: unknown = err;
  for (let depth = 0; depth < 5 && inner && typeof inner === 'object' && !(inner as { code?: string }).code && (inner as { cause?: unknown }).cause; depth++) {
    inner = (inner as { cause?: unknown }).cause;
  }
  const e = (inner ?? err) as { code?: string; sqlMessage?: string };
  const said = e.sqlMessage ?? (err as Error).message;
  const at = `MySQL at ${dep.address}`;
  switch (e.code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return new ConfigError(
        [{ file: dep.source, key: 'database.user', value: db.user, rule: `${at} refused the login (${said}); fix database.user and database.password` }],
        { cause: err },
      );
    case 'ER_DBACCESS_DENIED_ERROR':
      return new ConfigError(
        [
          {
            file: dep.source,
            key: 'database.database',
            value: db.database,
            rule: `${at} denies database.user access to it (${said}); grant it or fix database.user`,
          },
        ],
        { cause: err },
      );
    case 'ER_BAD_DB_ERROR':
      return new ConfigError(
        [
          {
            file: dep.source,
            key: 'database.database',
            value: db.database,
            rule: `${at} has no such database; create it (sql/setup.sql) or fix database.database`,
          },
        ],
        { cause: err },
      );
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      return new ConfigError(
        [
          {
            file: dep.source,
            key: 'database.user',
            value: db.user,
            rule: `${at} denies a privilege smgr needs (${said}); grant it on database.database (sql/grants.sql lists them)`,
          },
        ],
        { cause: err },
      );
    default:
      return undefined;
  }
}

/** Redis refusing the credentials in the URL (NOAUTH, WRONGPASS): exit 78 naming redis.url. */
export function redisConfigError(err: unknown, dep: Dependency): ConfigError | undefined {
  const message = (err as Error).message ?? '';
  if (!/^(NOAUTH|WRONGPASS)\b/.test(message) && !/invalid (username-)?password/i.test(message)) return undefined;
  const what = message.startsWith('NOAUTH') ? 'requires a password and redis.url gives none' : 'refused the user or password in redis.url';
  return new ConfigError(
    [
      {
        file: dep.source,
        key: 'redis.url',
        rule: `Redis at ${dep.address} ${what}; put them in the URL (redis://:PASSWORD@host:port or redis://USER:PASSWORD@host:port)`,
      },
    ],
    { cause: err },
  );
}

/**
 * A listener that could not bind (address in use, a port below 1024 without
 * the privilege, an address this host does not have) as a ConfigError naming
 * its key; undefined for other errors.
 */
export function listenConfigError(err: unknown, key: string, listen: string, source: string): ConfigError | undefined {
  const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message ?? ''}`;
  const rule = /EADDRINUSE/.test(text)
    ? 'the address is already in use (another process listens there: find it with `ss -ltnp`); stop it or choose another port'
    : /EACCES/.test(text)
      ? 'no permission to listen there (ports below 1024 need CAP_NET_BIND_SERVICE); choose a port above 1024'
      : /EADDRNOTAVAIL|ENOTFOUND|EAI_/.test(text)
        ? 'this host has no such address; use one of its addresses, 127.0.0.1 or 0.0.0.0'
        : undefined;
  return rule === undefined ? undefined : new ConfigError([{ file: source, key, value: listen, rule }], { cause: err });
}
