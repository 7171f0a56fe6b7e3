import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@smgr/shared';
import { listenConfigError, mysqlConfigError, mysqlDependency, plainReason, redisConfigError, redisDependency } from './dependency-errors.js';

const DB = { host: '127.0.0.1', port: 3306, user: 'smgr', password: 'secret', database: 'v_process_monitor', connectionLimit: 10, socket: undefined };

describe('plainReason', () => {
  it('says a refused connection once, even for a name with several addresses (AggregateError)', () => {
    const parts = ['::1', '127.0.0.1'].map((a) => Object.assign(new Error(`connect ECONNREFUSED ${a}:3306`), { code: 'ECONNREFUSED' }));
    const aggregate = Object.assign(new AggregateError(parts, ''), { code: 'ECONNREFUSED' });
    assert.equal(plainReason(aggregate), 'connection refused');
    assert.equal(plainReason(Object.assign(new AggregateError(parts, ''), {})), 'connection refused');
  });

  it('keeps the first line of an unknown error', () => {
    assert.equal(plainReason(new Error('something odd\n  at frame')), 'something odd');
  });
});

describe('dependencies name the address and the keys, never a password', () => {
  it('takes host:port out of a Redis URL with credentials', () => {
    const dep = redisDependency('redis://user:hunter2@10.0.0.5:6380/2', 'c.ini');
    assert.equal(dep.address, '10.0.0.5:6380');
    assert.equal(dep.keys, 'redis.url');
  });

  it('names a UNIX socket as the address', () => {
    assert.equal(redisDependency('unix:///run/redis/redis.sock?db=1', 'c.ini').address, '/run/redis/redis.sock');
    assert.deepEqual(mysqlDependency({ ...DB, socket: '/run/mysqld/mysqld.sock' }, 'c.ini').keys, 'database.socket');
  });
});

describe('errors no retry can cure are configuration errors', () => {
  const mysql = mysqlDependency(DB, '/etc/smgr/controller.ini');

  it('Access denied names database.user and database.password, not the password', () => {
    const err = Object.assign(new Error("Access denied for user 'smgr'@'localhost' (using password: YES)"), {
      code: 'ER_ACCESS_DENIED_ERROR',
      sqlMessage: "Access denied for user 'smgr'@'localhost' (using password: YES)",
    });
    const config = mysqlConfigError(err, mysql, DB);
    assert.ok(config instanceof ConfigError);
    assert.match(config.message, /database\.user = "smgr"/);
    assert.match(config.message, /database\.password/);
    assert.doesNotMatch(config.message, /secret/);
  });

  it('an unknown database names database.database', () => {
    const config = mysqlConfigError(Object.assign(new Error("Unknown database 'x'"), { code: 'ER_BAD_DB_ERROR' }), mysql, DB);
    assert.match(config?.message ?? '', /database\.database/);
  });

  it('a refused connection is worth retrying', () => {
    assert.equal(mysqlConfigError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), mysql, DB), undefined);
    assert.equal(redisConfigError(new Error('connect ECONNREFUSED 127.0.0.1:6379'), redisDependency('redis://127.0.0.1:6379', 'c')), undefined);
  });

  it('NOAUTH and WRONGPASS name redis.url', () => {
    const dep = redisDependency('redis://127.0.0.1:6379', 'c.ini');
    assert.match(redisConfigError(new Error('NOAUTH Authentication required.'), dep)?.message ?? '', /redis\.url.*requires a password/);
    assert.match(redisConfigError(new Error('WRONGPASS invalid username-password pair'), dep)?.message ?? '', /redis\.url.*refused/);
  });

  it("grpc-js's bind failure for a port in use names the key and the address", () => {
    const err = new Error('No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:7443]');
    const config = listenConfigError(err, 'controller.grpc_listen', '127.0.0.1:7443', 'c.ini');
    assert.match(config?.message ?? '', /^c\.ini: controller\.grpc_listen = "127\.0\.0\.1:7443": the address is already in use/);
    assert.equal(listenConfigError(new Error('something else'), 'controller.grpc_listen', '127.0.0.1:7443', 'c.ini'), undefined);
  });
});
