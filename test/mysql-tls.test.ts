import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { initCa, issueCert } from '@smgr/shared/pki';
import { Cleanup, freePort, makeTempDir, startMariaDb, startRedis, type MariaDbInstance, type RedisInstance } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import { chaosEnv, controllerSections, startDaemon, writeIni, type ChaosEnv, type Section } from '@smgr/testing/chaos';

/**
 * The controller and MySQL over TLS: a MariaDB serving a certificate from
 * smgr's own PKI, the controller verifying it as the least-privileged account
 * of sql/grants.sql (which REQUIREs SSL), and the refusals that end start-up
 * with exit 78: a CA that did not sign the server, plaintext off loopback.
 */
const files = new Cleanup();
let mysqlServer: MariaDbInstance;
let redis: RedisInstance;
let env: ChaosEnv;
let pki: string;
let otherPki: string;
const account = { user: `smgr_${randomBytes(4).toString('hex')}`, password: randomBytes(12).toString('base64url') };

/** sql/grants.sql for this test's database and account, as an administrator would run it. */
async function applyGrants(): Promise<void> {
  const sql = (await readFile(join(import.meta.dirname, '..', 'sql', 'grants.sql'), 'utf8'))
    .replaceAll('v_process_monitor', env.db.name)
    .replaceAll("'smgr'@", `'${account.user}'@`)
    .replace("'change-me'", `'${account.password}'`);
  const admin = await mysql.createConnection({
    host: mysqlServer.host,
    port: mysqlServer.port,
    user: mysqlServer.user,
    password: mysqlServer.password,
    multipleStatements: true,
  });
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
  files.add(async () => {
    const c = await mysql.createConnection({ host: mysqlServer.host, port: mysqlServer.port, user: mysqlServer.user, password: mysqlServer.password });
    await c.query('DROP USER IF EXISTS ?@?', [account.user, '%']).finally(() => c.end());
  }, 'grants account');
}

async function controllerWith(name: string, database: Section) {
  const base = controllerSections(env, { id: name, grpcListen: `127.0.0.1:${await freePort()}` });
  const config = await writeIni(env, `${name}.ini`, { ...base, database: { ...database, database: env.db.name } });
  const proc = startDaemon('controller', config, name);
  files.add(() => proc.stop(), name);
  return proc;
}

before(async () => {
  const tmp = await makeTempDir('mysql-tls-pki');
  files.add(() => tmp.remove(), 'pki dir');
  pki = join(tmp.path, 'pki');
  otherPki = join(tmp.path, 'other');
  await initCa(pki);
  await initCa(otherPki, { commonName: 'not the database CA' });
  const server = await issueCert(pki, 'mariadb', { role: 'controller', sans: ['127.0.0.1', 'localhost'] });
  [mysqlServer, redis] = await Promise.all([startMariaDb({ tls: { ca: server.ca, cert: server.cert, key: server.key } }), startRedis()]);
  files.add(() => Promise.allSettled([mysqlServer.stop(), redis.stop()]), 'servers');
  env = await chaosEnv(files, mysqlServer, redis, 'mysql-tls');
  await applyGrants();
});
after(() => files.run());

describe('MySQL over TLS', () => {
  test('the grants account is refused over plaintext (REQUIRE SSL), so a connection that works is TLS', async () => {
    await assert.rejects(mysql.createConnection({ host: mysqlServer.host, port: mysqlServer.port, ...account, database: env.db.name }), /Access denied/);
  });

  test('the controller connects over TLS, verifying the server, as the least-privileged account of sql/grants.sql', async () => {
    const ctl = await controllerWith('ctl-tls', {
      host: '127.0.0.1',
      port: mysqlServer.port,
      ...account,
      ssl_ca: join(pki, 'ca.pem'),
    });
    // Running means the migrations created smgr's tables and the lease and poller ran with these grants only.
    await waitForLog(ctl, 'controller running', 30_000);
    await waitForLog(ctl, 'polling for alarms', 10_000);
    const rows = await env.db.query<{ TABLE_NAME: string }>(
      "SELECT TABLE_NAME FROM information_schema.tables WHERE table_schema = ? AND TABLE_NAME LIKE 'smgr\\_%'",
      [env.db.name],
    );
    assert.ok(rows.length >= 10, `smgr tables created: ${rows.map((r) => r.TABLE_NAME).join(', ')}`);
    await ctl.stop();
    assert.equal(ctl.jsonLines().filter((j) => j.level >= 50).length, 0, ctl.tail());
  });

  test('a CA that did not sign the MySQL server ends start-up with exit 78 and a plain message', async () => {
    const ctl = await controllerWith('ctl-wrong-ca', { host: '127.0.0.1', port: mysqlServer.port, ...account, ssl_ca: join(otherPki, 'ca.pem') });
    const status = await ctl.exited;
    assert.equal(status.code, 78, ctl.tail());
    assert.match(ctl.tail(), /database\.ssl_ca.*MySQL server certificate was refused/);
  });

  test('plaintext to a MySQL host that is not loopback is refused with exit 78 naming the keys', async () => {
    // 192.0.2.0/24 is TEST-NET-1: the refusal comes before any connection attempt.
    const ctl = await controllerWith('ctl-plain', { host: '192.0.2.10', port: 3306, ...account });
    const status = await ctl.exited;
    assert.equal(status.code, 78, ctl.tail());
    assert.match(ctl.tail(), /database\.ssl_ca.*not loopback.*database\.allow_plaintext = true/);
  });
});
