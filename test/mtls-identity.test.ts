import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { initCa, issueCert } from '@smgr/shared/pki';
import { useServers, Cleanup, freePort, ManagedProcess, waitFor } from '@smgr/testing';
import { CONTROLLER_MAIN, waitForLog } from '@smgr/testing/smgr';
import {
  addProcesses,
  agentSections,
  chaosEnv,
  controllerSections,
  countLogs,
  countingServices,
  raiseAlarms,
  startDaemon,
  waitAllCleared,
  writeIni,
  type ChaosEnv,
  type CountingService,
} from '@smgr/testing/chaos';
import { SimAgents } from '@smgr/testing/sim-agents';

const files = new Cleanup();
let env: ChaosEnv;
let pki: string;
let otherPki: string;
let address: string;
let controller: ManagedProcess;
let agent: ManagedProcess;
let service: CountingService;

const DAY = 86_400_000;

/** Simulated agent(s) presenting `cert`/`key` (or no certificate) to the controller. */
function sim(hostIds: string[], tls: { ca?: string; cert?: string; key?: string }): SimAgents {
  const ca = readFileSync(tls.ca ?? join(pki, 'ca.pem'));
  const creds = tls.cert && tls.key ? credentials.createSsl(ca, readFileSync(tls.key), readFileSync(tls.cert)) : credentials.createSsl(ca);
  const s = new SimAgents({ address, credentials: creds, hostIds, reconnect: false });
  files.add(() => s.stop(), 'simulated agents');
  s.start();
  return s;
}

after(() => files.run());
const servers = useServers();
before(async () => {
  await servers.ready;
  env = await chaosEnv(files, servers.mysql, servers.redis, 'mtls');
  pki = join(env.dir, 'pki');
  otherPki = join(env.dir, 'other-pki');
  await initCa(pki);
  await initCa(otherPki, { commonName: 'someone else' });
  await issueCert(pki, 'ctl-mtls', { role: 'controller', sans: ['127.0.0.1', 'localhost'] });
  for (const h of ['h1', 'h2']) await issueCert(pki, h, { role: 'agent' });
  await issueCert(otherPki, 'h1', { role: 'agent' });
  const past = Date.now() - 30 * DAY;
  await issueCert(pki, 'h3', { role: 'agent', notBefore: new Date(past), notAfter: new Date(past + DAY) });

  address = `127.0.0.1:${await freePort()}`;
  const tls = (host: string) => ({ insecure: false, ca: join(pki, 'ca.pem'), cert: join(pki, `${host}.pem`), key: join(pki, `${host}.key`) });
  const ctlConfig = await writeIni(env, 'controller.ini', controllerSections(env, { id: 'ctl-mtls', grpcListen: address, more: { tls: tls('ctl-mtls') } }));
  controller = startDaemon('controller', ctlConfig, 'controller');
  files.add(() => controller.stop(), 'controller');
  await waitForLog(controller, 'controller running', 30_000);

  service = (await countingServices(files, env, `mt${Math.random().toString(16).slice(2, 6)}-`, 1))[0]!;
  const agentConfig = await writeIni(
    env,
    'agent.ini',
    agentSections(env, {
      hostId: 'h1',
      controllers: [address],
      services: { [service.name]: { restart_strategy: 'process', start_command: service.path, health_check_timeout: 10 } },
      more: { tls: tls('h1') },
    }),
  );
  agent = startDaemon('agent', agentConfig, 'agent-h1');
  files.add(() => agent.stop(), 'agent');
  await waitForLog(controller, 'agent connected', 20_000, (j) => j.hostId === 'h1');
});

describe('mutual TLS: identity is the certificate name', () => {
  test('an agent with a certificate from another CA is refused at the handshake and the refusal is logged', async () => {
    const from = controller.lineCount();
    const s = sim(['h1'], { cert: join(otherPki, 'h1.pem'), key: join(otherPki, 'h1.key') });
    const line = await controller.waitForLine((_, j) => j?.msg === 'TLS handshake refused', 10_000, 'TLS refusal logged', from);
    assert.match(String(line.json?.reason), /UNABLE_TO_VERIFY|CERT|SIGNATURE/);
    assert.equal(s.stats.welcomes, 0);
  });

  test('an agent with an expired certificate is refused at the handshake, logged as CERT_HAS_EXPIRED', async () => {
    const from = controller.lineCount();
    const s = sim(['h3'], { cert: join(pki, 'h3.pem'), key: join(pki, 'h3.key') });
    await controller.waitForLine((_, j) => j?.msg === 'TLS handshake refused' && j.reason === 'CERT_HAS_EXPIRED', 10_000, 'expired cert refused', from);
    assert.equal(s.stats.welcomes, 0);
  });

  test('a client without a certificate is refused', async () => {
    const from = controller.lineCount();
    const s = sim(['h1'], {});
    await controller.waitForLine((_, j) => j?.msg === 'TLS handshake refused', 10_000, 'certificate-less client refused', from);
    assert.equal(s.stats.welcomes, 0);
  });

  test('a Hello for another host is refused with IDENTITY_MISMATCH and does not displace that host', async () => {
    const s = sim(['h1'], { cert: join(pki, 'h2.pem'), key: join(pki, 'h2.key') });
    const refusal = await waitFor(() => s.lastRefusal.get('h1'), { timeoutMs: 10_000, message: 'refusal' });
    assert.equal(refusal.code, 'IDENTITY_MISMATCH');
    assert.match(refusal.message, /certificate is for "h2", not h1/);
    await waitForLog(controller, 'agent refused', 5_000, (j) => j.code === 'IDENTITY_MISMATCH');
    assert.equal(countLogs(controller, 'agent reconnected; older stream replaced'), 0, 'the real h1 keeps its stream');
    // The certificate's own name is accepted.
    const own = sim(['h2'], { cert: join(pki, 'h2.pem'), key: join(pki, 'h2.key') });
    await waitFor(() => own.stats.welcomes === 1, { timeoutMs: 10_000, message: 'h2 welcomed as itself' });
  });

  test('after all that the controller is unaffected: the real agent is still connected and repairs over mTLS', async () => {
    assert.equal(controller.exitStatus, undefined);
    assert.equal(
      countLogs(controller, 'agent disconnected', (j) => j.hostId === 'h1'),
      0,
      'the real agent never dropped',
    );
    const [id] = await addProcesses(env.db, [service.name]);
    await raiseAlarms(env.db, [id!]);
    await waitAllCleared(env.db, [id!], 30_000, () => controller.tail());
    assert.equal((await service.starts()).length, 1);
  });

  test('without [tls] files a controller refuses to start unless tls.insecure is set explicitly', async () => {
    const plain = controllerSections(env, { id: 'ctl-plain', grpcListen: `127.0.0.1:${await freePort()}` });
    delete plain.tls;
    const config = await writeIni(env, 'plain.ini', plain);
    const p = ManagedProcess.start(process.execPath, [CONTROLLER_MAIN, '--config', config], { name: 'controller-plain' });
    files.add(() => p.stop(), 'plain controller');
    const exit = await p.exited;
    assert.equal(exit.code, 78);
    assert.match(p.lines().join('\n'), /tls\.ca.*required unless tls\.insecure = true/);
  });
});
