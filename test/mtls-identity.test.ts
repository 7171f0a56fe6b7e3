import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { initCa, issueCert } from '@smgr/shared/pki';
import { freePort, ManagedProcess, waitFor } from '@smgr/testing';
import { CONTROLLER_MAIN, waitForLog } from '@smgr/testing/smgr';
import { controllerSections, countLogs, writeIni } from '@smgr/testing/chaos';
import { SimAgents } from '@smgr/testing/sim-agents';
import { assertPairStillRepairs, pkiFiles, startLinkedPair, useLinkEnv, type LinkedPair, type LinkPki } from './support-agent-link.js';

const link = useLinkEnv('mtls', { controllerId: 'ctl-mtls', agents: ['h1', 'h2'] });
const { files } = link;
/** A second CA that issued its own "h1". */
let otherPki: LinkPki;
let pair: LinkedPair;

const DAY = 86_400_000;

/** Simulated agent(s) presenting `name`'s certificate from `from` (or no certificate) to the controller. */
function sim(hostIds: string[], name?: string, from = link.pki): SimAgents {
  const ca = readFileSync(link.pki.ca);
  const creds = name ? credentials.createSsl(ca, readFileSync(from.key(name)), readFileSync(from.cert(name))) : credentials.createSsl(ca);
  const s = new SimAgents({ address: pair.address, credentials: creds, hostIds, reconnect: false });
  files.add(() => s.stop(), 'simulated agents');
  s.start();
  return s;
}

before(async () => {
  await link.ready;
  const { env, pki } = link;
  otherPki = pkiFiles(join(env.dir, 'other-pki'));
  await initCa(otherPki.dir, { commonName: 'someone else' });
  await issueCert(otherPki.dir, 'h1', { role: 'agent' });
  const past = Date.now() - 30 * DAY;
  await issueCert(pki.dir, 'h3', { role: 'agent', notBefore: new Date(past), notAfter: new Date(past + DAY) });
  pair = await startLinkedPair(files, env, { controllerId: 'ctl-mtls', hostId: 'h1', tls: pki.tls, service: { health_check_timeout: 10 } });
});

describe('mutual TLS: identity is the certificate name', () => {
  test('an agent with a certificate from another CA is refused at the handshake and the refusal is logged', async () => {
    const from = pair.controller.lineCount();
    const s = sim(['h1'], 'h1', otherPki);
    const line = await pair.controller.waitForLine((_, j) => j?.msg === 'TLS handshake refused', 10_000, 'TLS refusal logged', from);
    assert.match(String(line.json?.reason), /UNABLE_TO_VERIFY|CERT|SIGNATURE/);
    assert.equal(s.stats.welcomes, 0);
  });

  test('an agent with an expired certificate is refused at the handshake, logged as CERT_HAS_EXPIRED', async () => {
    const from = pair.controller.lineCount();
    const s = sim(['h3'], 'h3');
    await pair.controller.waitForLine((_, j) => j?.msg === 'TLS handshake refused' && j.reason === 'CERT_HAS_EXPIRED', 10_000, 'expired cert refused', from);
    assert.equal(s.stats.welcomes, 0);
  });

  test('a client without a certificate is refused', async () => {
    const from = pair.controller.lineCount();
    const s = sim(['h1']);
    await pair.controller.waitForLine((_, j) => j?.msg === 'TLS handshake refused', 10_000, 'certificate-less client refused', from);
    assert.equal(s.stats.welcomes, 0);
  });

  test('a Hello for another host is refused with IDENTITY_MISMATCH and does not displace that host', async () => {
    const s = sim(['h1'], 'h2');
    const refusal = await waitFor(() => s.lastRefusal.get('h1'), { timeoutMs: 10_000, message: 'refusal' });
    assert.equal(refusal.code, 'IDENTITY_MISMATCH');
    assert.match(refusal.message, /certificate is for "h2", not h1/);
    await waitForLog(pair.controller, 'agent refused', 5_000, (j) => j.code === 'IDENTITY_MISMATCH');
    assert.equal(countLogs(pair.controller, 'agent reconnected; older stream replaced'), 0, 'the real h1 keeps its stream');
    // The certificate's own name is accepted.
    const own = sim(['h2'], 'h2');
    await waitFor(() => own.stats.welcomes === 1, { timeoutMs: 10_000, message: 'h2 welcomed as itself' });
  });

  test('after all that the controller is unaffected: the real agent is still connected and repairs over mTLS', async () => {
    await assertPairStillRepairs(link.env, pair);
  });

  test('without [tls] files a controller refuses to start unless tls.insecure is set explicitly', async () => {
    const plain = controllerSections(link.env, { id: 'ctl-plain', grpcListen: `127.0.0.1:${await freePort()}` });
    delete plain.tls;
    const config = await writeIni(link.env, 'plain.ini', plain);
    const p = ManagedProcess.start(process.execPath, [CONTROLLER_MAIN, '--config', config], { name: 'controller-plain' });
    files.add(() => p.stop(), 'plain controller');
    const exit = await p.exited;
    assert.equal(exit.code, 78);
    assert.match(p.lines().join('\n'), /tls\.ca.*required unless tls\.insecure = true/);
  });
});
