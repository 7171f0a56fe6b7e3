import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { agentServiceServerDefinition, channelCredentials, createAgentServiceClient, loadCrlSupport, type TlsSettings } from '@smgr/shared';
import { initCa, issueCert, renewCert, revokeCert, writeCrl } from '@smgr/shared/pki';
import { useServers, Cleanup, freePort, type ManagedProcess, waitFor } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import { agentSections, chaosEnv, controllerSections, countLogs, startDaemon, writeIni, type ChaosEnv } from '@smgr/testing/chaos';
import { SimAgents } from '@smgr/testing/sim-agents';

/**
 * Certificate roles, revocation and reloading with real certificates, a real
 * controller and a real agent: an agent certificate cannot act as a
 * controller, wildcard and dual-use agent certificates are refused, a CRL
 * update cuts a revoked agent off (and makes the agent drop a revoked
 * controller) without a restart, and renewed certificates are served after
 * SIGHUP while connected agents stay.
 */
const files = new Cleanup();
let env: ChaosEnv;
let pki: string;
let address: string;
let controller: ManagedProcess;
let agent: ManagedProcess;

const tlsOf = (host: string, more: Partial<TlsSettings> = {}): TlsSettings => ({
  insecure: false,
  ca: join(pki, 'ca.pem'),
  cert: join(pki, `${host}.pem`),
  key: join(pki, `${host}.key`),
  crl: join(pki, 'crl.pem'),
  ...more,
});
const iniTls = (host: string) => ({
  insecure: false,
  ca: join(pki, 'ca.pem'),
  cert: join(pki, `${host}.pem`),
  key: join(pki, `${host}.key`),
  crl: join(pki, 'crl.pem'),
});

/** A certificate smgr pki refuses to make (dual use, wildcard, no extKeyUsage), signed by the CA with openssl. */
function opensslCert(name: string, ext: string): void {
  const key = join(pki, `${name}.key`);
  const extFile = join(pki, `${name}.ext`);
  writeFileSync(extFile, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n${ext}\n`);
  execFileSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'ignore' });
  const csr = execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${name}`]);
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-CA',
      join(pki, 'ca.pem'),
      '-CAkey',
      join(pki, 'ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      extFile,
      '-out',
      join(pki, `${name}.pem`),
    ],
    { input: csr, stdio: ['pipe', 'ignore', 'ignore'] },
  );
}

function sim(hostIds: string[], host: string): SimAgents {
  const read = (p: string) => readFileSync(join(pki, p));
  const s = new SimAgents({
    address,
    credentials: grpc.credentials.createSsl(read('ca.pem'), read(`${host}.key`), read(`${host}.pem`)),
    hostIds,
    reconnect: false,
  });
  files.add(() => s.stop(), 'simulated agents');
  s.start();
  return s;
}

/** Whether the controller's log says `hostId` is connected now (its last connect/disconnect line). */
function isConnected(hostId: string): boolean {
  const last = controller
    .jsonLines()
    .filter((j) => (j.msg === 'agent connected' || j.msg === 'agent disconnected') && j.hostId === hostId)
    .at(-1);
  return last?.msg === 'agent connected';
}

/** The serial of the certificate a TLS server at `address` presents now. */
async function servedSerial(client: string): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  const read = (p: string) => readFileSync(join(pki, p));
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: Number(port), ca: read('ca.pem'), cert: read(`${client}.pem`), key: read(`${client}.key`), ALPNProtocols: ['h2'] }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.on('error', reject);
  });
}

/** Why `channelCredentials(tls)` fails to reach a server presenting `serverCert`: the agent's own check of the controller. */
async function agentVerdictOn(serverCert: string, tls: TlsSettings): Promise<string> {
  const server = new grpc.Server();
  // Accepting answers with headers, which the client sees as metadata.
  server.addService(agentServiceServerDefinition, { connect: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.sendMetadata(new grpc.Metadata()) });
  const read = (p: string) => readFileSync(join(pki, p));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      grpc.ServerCredentials.createSsl(read('ca.pem'), [{ cert_chain: read(`${serverCert}.pem`), private_key: read(`${serverCert}.key`) }], true),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  const client = createAgentServiceClient(`127.0.0.1:${port}`, channelCredentials(tls));
  try {
    return await new Promise<string>((resolve) => {
      // A deadline so a verdict never hangs the test: a refused handshake ends the call long before it.
      const call = client.connect(new grpc.Metadata(), { deadline: Date.now() + 10_000 });
      call.on('error', (err: grpc.ServiceError) => resolve(err.details));
      call.on('data', () => resolve('accepted'));
      call.on('metadata', () => resolve('accepted'));
    });
  } finally {
    client.close();
    server.forceShutdown();
  }
}

after(() => files.run());
const servers = useServers();
before(async () => {
  // channelCredentials() is called in this process with a CRL: as a daemon does at start (runDaemon).
  await loadCrlSupport();
  await servers.ready;
  env = await chaosEnv(files, servers.mysql, servers.redis, 'mtls-roles');
  pki = join(env.dir, 'pki');
  await initCa(pki);
  await issueCert(pki, 'ctl', { role: 'controller', sans: ['127.0.0.1'] });
  for (const h of ['h1', 'h2', 'h3']) await issueCert(pki, h, { role: 'agent' });
  // An agent certificate naming the controller's address: before roles, this could serve as the controller.
  await issueCert(pki, 'impostor', { role: 'agent', sans: ['127.0.0.1'] });
  opensslCert('h4', 'extendedKeyUsage=serverAuth,clientAuth');
  opensslCert('h5', 'extendedKeyUsage=clientAuth\nsubjectAltName=DNS:*.example.org');
  opensslCert('noeku', 'subjectAltName=IP:127.0.0.1');
  await writeCrl(pki);

  address = `127.0.0.1:${await freePort()}`;
  const ctlConfig = await writeIni(env, 'controller.ini', controllerSections(env, { id: 'ctl', grpcListen: address, more: { tls: iniTls('ctl') } }));
  controller = startDaemon('controller', ctlConfig, 'controller');
  files.add(() => controller.stop(), 'controller');
  await waitForLog(controller, 'controller running', 30_000);
  const agentConfig = await writeIni(env, 'agent.ini', agentSections(env, { hostId: 'h1', controllers: [address], services: {}, more: { tls: iniTls('h1') } }));
  agent = startDaemon('agent', agentConfig, 'agent-h1');
  files.add(() => agent.stop(), 'agent');
  await waitForLog(controller, 'agent connected', 20_000, (j) => j.hostId === 'h1');
});

describe('certificate roles', () => {
  test('an agent refuses a server presenting an agent certificate, even one naming the controller address', async () => {
    const verdict = await agentVerdictOn('impostor', tlsOf('h3'));
    assert.notEqual(verdict, 'accepted');
    assert.match(verdict, /purpose|serverAuth/i);
  });

  test('an agent refuses a server certificate without extKeyUsage serverAuth', async () => {
    const verdict = await agentVerdictOn('noeku', tlsOf('h3'));
    assert.match(verdict, /lacks extKeyUsage serverAuth/);
    assert.equal(await agentVerdictOn('ctl', tlsOf('h3')), 'accepted', 'the controller certificate is accepted');
  });

  test('an agent pinning another CA refuses the controller', async () => {
    const pin = 'ab'.repeat(32);
    assert.match(await agentVerdictOn('ctl', tlsOf('h3', { pinCaSha256: pin })), /pinned in tls.pin_ca_sha256/);
  });

  test('the controller refuses a dual-use (clientAuth + serverAuth) agent certificate and a wildcard one', async () => {
    const dual = sim(['h4'], 'h4');
    const wild = sim(['h5'], 'h5');
    const a = await waitFor(() => dual.lastRefusal.get('h4'), { timeoutMs: 10_000, message: 'dual-use refused' }).catch((e) => {
      throw new Error(`${e.message}\n${controller.tail()}\n${JSON.stringify(dual.stats)}`);
    });
    const b = await waitFor(() => wild.lastRefusal.get('h5'), { timeoutMs: 10_000, message: 'wildcard refused' });
    assert.equal(a.code, 'CERT_REFUSED');
    assert.match(a.message, /could pass for a controller/);
    assert.equal(b.code, 'CERT_REFUSED');
    assert.match(b.message, /wildcard/);
    assert.equal(dual.stats.welcomes + wild.stats.welcomes, 0);
  });

  test('a controller configured with an agent certificate exits 78 naming tls.cert', async () => {
    const config = await writeIni(
      env,
      'bad-controller.ini',
      controllerSections(env, { id: 'ctl-bad', grpcListen: `127.0.0.1:${await freePort()}`, more: { tls: iniTls('h3') } }),
    );
    const bad = startDaemon('controller', config, 'controller-bad');
    files.add(() => bad.stop(), 'bad controller');
    const status = await bad.exited;
    assert.equal(status.code, 78, bad.tail());
    assert.match(bad.tail(), /tls\.cert.*serverAuth/);
  });
});

describe('revocation and reload without restart', () => {
  test('revoking a connected agent cuts it off and its reconnects are refused at the handshake', async () => {
    const s = sim(['h2'], 'h2');
    await waitFor(() => s.stats.welcomes === 1, { timeoutMs: 10_000, message: 'h2 welcomed' });
    const from = controller.lineCount();
    await revokeCert(pki, join(pki, 'h2.pem'));
    const refusal = await waitFor(() => s.lastRefusal.get('h2'), { timeoutMs: 15_000, message: 'h2 cut off after the CRL update' });
    assert.equal(refusal.code, 'CERT_REFUSED');
    assert.match(refusal.message, /revoked/);
    await controller.waitForLine((_, j) => j?.msg === 'TLS certificates and CRL reloaded', 10_000, 'CRL reloaded', from);
    const again = sim(['h2'], 'h2');
    await controller.waitForLine((_, j) => j?.msg === 'TLS handshake refused' && j.reason === 'CERT_REVOKED', 10_000, 'revoked at handshake', from);
    assert.equal(again.stats.welcomes, 0);
    assert.equal(controller.exitStatus, undefined, 'no restart');
    await controller.waitForLine(
      (_, j) => j?.msg === 'agent connected' && j.hostId === 'h1',
      15_000,
      'h1 (not revoked) still welcome after the CRL change',
      from,
    );
  });

  test('a renewed controller certificate is served after SIGHUP, and connected agents stay', async () => {
    const before = await servedSerial('h3');
    const renewed = await renewCert(pki, 'ctl');
    const newSerial = new X509Certificate(readFileSync(renewed.cert)).serialNumber;
    assert.notEqual(newSerial, before);
    await waitFor(() => agent.lines().some((l) => l.includes('connected to controller')) && isConnected('h1'), { timeoutMs: 15_000, message: 'h1 connected' });
    const from = controller.lineCount();
    process.kill(controller.pid!, 'SIGHUP');
    await controller.waitForLine((_, j) => j?.msg === 'TLS certificates and CRL reloaded' && j.why === 'SIGHUP', 10_000, 'reload on SIGHUP', from);
    assert.equal(await servedSerial('h3'), newSerial);
    assert.equal(controller.exitStatus, undefined);
    const since = controller.jsonLines().slice(from);
    assert.equal(since.filter((j) => j.msg === 'agent disconnected' && j.hostId === 'h1').length, 0, 'h1 kept its stream');
  });

  test('an agent on SIGHUP reconnects with its renewed certificate; its old one can then be revoked', async () => {
    const old = new X509Certificate(readFileSync(join(pki, 'h1.pem'))).serialNumber;
    await renewCert(pki, 'h1');
    const from = controller.lineCount();
    process.kill(agent.pid!, 'SIGHUP');
    await controller.waitForLine((_, j) => j?.msg === 'agent connected' && j.hostId === 'h1', 15_000, 'h1 back after SIGHUP', from);
    const afterHup = controller.lineCount();
    const agentFrom = agent.lineCount();
    await revokeCert(pki, old);
    await controller.waitForLine((_, j) => j?.msg === 'TLS certificates and CRL reloaded', 10_000, 'CRL reloaded', afterHup);
    // The agent also sees the CRL change and reconnects; it must be welcomed with the renewed certificate.
    await agent.waitForLine(
      (_, j) => j?.msg === 'reconnecting to the controller' && j.why === 'the CRL file changed',
      15_000,
      'agent saw the CRL change',
      agentFrom,
    );
    await agent.waitForLine((_, j) => j?.msg === 'connected to controller', 15_000, 'agent welcomed again', agentFrom);
    assert.equal(
      countLogs(controller, 'connected agent refused after a TLS reload', (j) => j.hostId === 'h1'),
      0,
      'the renewed certificate is not revoked',
    );
    assert.equal(agent.exitStatus, undefined);
  });

  test('an agent drops a controller whose certificate is revoked once the CRL changes', async () => {
    const from = agent.lineCount();
    await revokeCert(pki, join(pki, 'ctl.pem'));
    const line = await agent.waitForLine(
      (_, j) => j?.msg === 'controller link down; reconnecting' && /revoked/i.test(String(j.why)),
      20_000,
      'revoked controller refused by the agent',
      from,
    );
    assert.ok(line);
  });
});
