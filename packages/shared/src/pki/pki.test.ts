import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { initCa } from './init-ca.js';
import { issueCert, renewCert } from './issue-cert.js';
import { revokeCert, writeCrl } from './revoke-cert.js';
import { readRevocationList, normalizeSerial } from '../grpc/revocation-list.js';
import { peerCertificateProblem } from '../grpc/peer-policy.js';
import { pkiMain } from './pki-command.js';

let root = '';
let n = 0;
const freshDir = () => join(root, `pki-${++n}`);

/** Does a TLS handshake with client certificate `client` against a server presenting `server`, both trusting `ca`. */
async function handshake(ca: string, server: { cert: string; key: string }, client: { cert: string; key: string }, crl?: Buffer): Promise<string | null> {
  const read = (p: string) => readFileSync(p);
  const srv = tls.createServer({
    ca: read(ca),
    cert: read(server.cert),
    key: read(server.key),
    requestCert: true,
    rejectUnauthorized: true,
    ...(crl ? { crl } : {}),
  });
  // node destroys a socket whose certificate fails verification and keeps the reason in authorizationError.
  const serverError = new Promise<string>((resolve) =>
    srv.on('tlsClientError', (err, socket) => resolve(socket.authorizationError ? String(socket.authorizationError) : err.message)),
  );
  srv.on('secureConnection', (s) => s.end('ok'));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  try {
    const sock = tls.connect({ host: '127.0.0.1', port, ca: read(ca), cert: read(client.cert), key: read(client.key), servername: 'ctl1' });
    sock.on('error', () => undefined);
    const outcome = await Promise.race([once(sock, 'data').then(() => null), serverError, once(sock, 'close').then(() => serverError)]);
    sock.destroy();
    return outcome;
  } finally {
    srv.close();
  }
}

describe('pki', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'smgr-pki-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('initCa writes a CA certificate and a key only its owner can read', async () => {
    const dir = freshDir();
    const ca = await initCa(dir, { commonName: 'test CA' });
    const cert = new X509Certificate(readFileSync(ca.caCert));
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, 'CN=test CA');
    assert.equal(statSync(ca.caKey).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  it('issueCert makes a controller certificate with CN = host id, its SANs, serverAuth only, signed by the CA', async () => {
    const dir = freshDir();
    const ca = await initCa(dir);
    const issued = await issueCert(dir, 'ctl1', { role: 'controller', sans: ['ctl1.example.org', '10.0.0.5', '127.0.0.1'] });
    const cert = new X509Certificate(readFileSync(issued.cert));
    assert.equal(cert.subject, 'CN=ctl1');
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(new X509Certificate(readFileSync(ca.caCert)).publicKey), 'signed by the CA');
    assert.equal(cert.checkHost('ctl1.example.org'), 'ctl1.example.org');
    assert.equal(cert.checkIP('10.0.0.5'), '10.0.0.5');
    assert.equal(cert.checkHost('other.example.org'), undefined);
    assert.deepEqual([...(cert.keyUsage ?? [])], ['1.3.6.1.5.5.7.3.1']);
    assert.equal(statSync(issued.key).mode & 0o777, 0o600);
    const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 89 && days <= 90, `90 days by default (got ${days})`);
  });

  it('an agent certificate is clientAuth only and never holds a wildcard', async () => {
    const dir = freshDir();
    await initCa(dir);
    const issued = await issueCert(dir, 'web1', { role: 'agent' });
    assert.deepEqual([...(new X509Certificate(readFileSync(issued.cert)).keyUsage ?? [])], ['1.3.6.1.5.5.7.3.2']);
    await assert.rejects(issueCert(dir, 'web2', { role: 'agent', sans: ['*.example.org'] }), { code: 'PKI_WILDCARD' });
    await assert.rejects(issueCert(dir, 'web3', { role: 'nobody' as 'agent' }), { code: 'PKI_BAD_ROLE' });
  });

  it('peer policy: an agent certificate cannot be a controller, a controller certificate cannot be an agent', async () => {
    const dir = freshDir();
    const ca = await initCa(dir);
    const agent = new X509Certificate(readFileSync((await issueCert(dir, 'web1', { role: 'agent' })).cert)).raw;
    const ctl = new X509Certificate(readFileSync((await issueCert(dir, 'ctl', { role: 'controller' })).cert)).raw;
    const policy = { trusted: [new X509Certificate(readFileSync(ca.caCert))], pinCaSha256: '', revoked: new Set<string>() };
    assert.equal(peerCertificateProblem(agent, 'agent', policy), null);
    assert.equal(peerCertificateProblem(ctl, 'controller', policy), null);
    assert.match(peerCertificateProblem(agent, 'controller', policy) ?? '', /serverAuth/);
    assert.match(peerCertificateProblem(ctl, 'agent', policy) ?? '', /clientAuth/);
  });

  it('revokeCert lists a certificate in a CRL signed by the CA that OpenSSL honours; renewCert keeps role and names', async () => {
    const dir = freshDir();
    const ca = await initCa(dir);
    const server = await issueCert(dir, 'ctl1', { role: 'controller', sans: ['127.0.0.1'] });
    const good = await issueCert(dir, 'web1', { role: 'agent' });
    const bad = await issueCert(dir, 'web2', { role: 'agent' });
    const empty = await writeCrl(dir);
    assert.deepEqual(empty.revoked, []);
    const r = await revokeCert(dir, bad.cert, { reason: 'keyCompromise' });
    assert.equal(r.serial, normalizeSerial(new X509Certificate(readFileSync(bad.cert)).serialNumber));
    assert.equal(r.crlNumber, 2);
    await revokeCert(dir, r.serial); // again, by serial: listed once
    const list = readRevocationList(readFileSync(r.crl), [new X509Certificate(readFileSync(ca.caCert))]);
    assert.deepEqual([...list.serials], [r.serial]);
    const crl = readFileSync(r.crl);
    assert.equal(await handshake(ca.caCert, server, good, crl), null);
    assert.match((await handshake(ca.caCert, server, bad, crl)) ?? '', /revoked/i);
    // A CRL from another CA is refused when read.
    const other = freshDir();
    const otherCa = await initCa(other);
    assert.throws(() => readRevocationList(crl, [new X509Certificate(readFileSync(otherCa.caCert))]), /not signed by a CA/);
    const before = new X509Certificate(readFileSync(server.cert));
    const renewed = await renewCert(dir, 'ctl1', { days: 30 });
    const after = new X509Certificate(readFileSync(renewed.cert));
    assert.notEqual(after.serialNumber, before.serialNumber);
    assert.equal(renewed.role, 'controller');
    assert.equal(after.checkIP('127.0.0.1'), '127.0.0.1');
  });

  it('a host id with an underscore is the CN but not a DNS name', async () => {
    const dir = freshDir();
    await initCa(dir);
    const issued = await issueCert(dir, 'web_1', { role: 'agent' });
    const cert = new X509Certificate(readFileSync(issued.cert));
    assert.equal(cert.subject, 'CN=web_1');
    assert.equal(cert.subjectAltName, undefined);
  });

  it('certificates of one CA complete a mutual TLS handshake; a client from another CA or an expired one is rejected', async () => {
    const dir = freshDir();
    const other = freshDir();
    const ca = await initCa(dir);
    await initCa(other);
    const server = await issueCert(dir, 'ctl1', { role: 'controller' });
    const good = await issueCert(dir, 'web1', { role: 'agent' });
    const foreign = await issueCert(other, 'web1', { role: 'agent' });
    const past = Date.now() - 10 * 86_400_000;
    const expired = await issueCert(dir, 'web2', { role: 'agent', notBefore: new Date(past), notAfter: new Date(past + 86_400_000) });
    assert.equal(await handshake(ca.caCert, server, good), null);
    assert.match((await handshake(ca.caCert, server, foreign)) ?? '', /certificate|verify|signature/i);
    assert.match((await handshake(ca.caCert, server, expired)) ?? '', /expired/i);
  });

  it('refuses to overwrite a CA or a certificate without force, and with force replaces them', async () => {
    const dir = freshDir();
    await initCa(dir);
    await assert.rejects(initCa(dir), { code: 'PKI_EXISTS' });
    const first = await issueCert(dir, 'web1', { role: 'agent' });
    const before = readFileSync(first.cert, 'utf8');
    await assert.rejects(issueCert(dir, 'web1', { role: 'agent' }), { code: 'PKI_EXISTS' });
    await issueCert(dir, 'web1', { role: 'agent', force: true });
    assert.notEqual(readFileSync(first.cert, 'utf8'), before);
  });

  it('refuses bad host ids, bad SANs and a directory without a CA, writing nothing', async () => {
    const dir = freshDir();
    await assert.rejects(issueCert(dir, 'web1', { role: 'agent' }), { code: 'NOT_FOUND', message: /run "smgr pki init/ });
    await initCa(dir);
    for (const bad of ['', '../etc/passwd', 'a b', '-x', 'x'.repeat(300)]) {
      await assert.rejects(issueCert(dir, bad, { role: 'agent' }), { code: 'PKI_BAD_NAME' }, `host id ${JSON.stringify(bad)}`);
    }
    await assert.rejects(issueCert(dir, 'web1', { role: 'agent', sans: ['not a name'] }), { code: 'PKI_BAD_SAN' });
    await assert.rejects(issueCert(dir, 'web1', { role: 'agent', days: 0 }), { code: 'PKI_BAD_DAYS' });
    assert.throws(() => statSync(join(dir, 'web1.pem')), /ENOENT/);
  });

  it('pkiMain runs init, issue, revoke, crl and renew as commands with exit codes 0, 1 and 2', async () => {
    const dir = freshDir();
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) };
    assert.equal(await pkiMain(['init', dir], io), 0);
    assert.equal(await pkiMain(['issue', dir, 'ctl1', '--role', 'controller', '--san', '10.1.2.3', '--days', '30'], io), 0);
    const issued = JSON.parse(out[1]!) as { host: string; sans: string[]; cert: string };
    assert.equal(issued.host, 'ctl1');
    assert.deepEqual(issued.sans, ['ctl1', '10.1.2.3']);
    assert.equal(await pkiMain(['issue', dir, 'web1'], io), 2, '--role is required');
    assert.equal(await pkiMain(['issue', dir, 'web1', '--role', 'server'], io), 2);
    assert.equal(await pkiMain(['revoke', dir, issued.cert], io), 0);
    assert.equal(JSON.parse(out.at(-1)!).listed, 1);
    assert.equal(await pkiMain(['crl', dir, '--crl-days', '7'], io), 0);
    assert.equal(await pkiMain(['renew', dir, 'ctl1'], io), 0);
    assert.equal(JSON.parse(out.at(-1)!).role, 'controller');
    assert.equal(await pkiMain(['revoke', dir, 'not-a-serial!'], io), 1);
    assert.equal(await pkiMain(['init', dir], io), 1);
    assert.match(err.join(''), /ca\.pem exists/);
    assert.equal(await pkiMain(['issue', dir], io), 2);
    assert.equal(await pkiMain(['issue', dir, 'h', '--days', 'soon'], io), 2);
    assert.equal(await pkiMain(['frobnicate'], io), 2);
  });
});
