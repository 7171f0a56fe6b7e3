/**
 * What an agent says when its link settings are wrong (issue 9, item 10):
 * pointed at the API port, TLS on one side only, a certificate for another
 * host (exit 78 instead of retrying forever), and an IP address in
 * agent.controller without Node's SNI DeprecationWarning.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor, type ManagedProcess } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import { agentSections, chaosEnv, startDaemon, writeIni, type Sections } from '@smgr/testing/chaos';
import { runningController, useLinkEnv } from './support-agent-link.js';

const link = useLinkEnv('linkerr', { controllerId: 'ctl-link', agents: ['h1', 'h2'] });
const { files } = link;
/** TLS controller: gRPC and HTTPS API addresses. */
let tlsGrpc: string;
let tlsApi: string;
/** Plaintext controller (tls.insecure) on a database of its own. */
let plainGrpc: string;

before(async () => {
  await link.ready;
  const { env, pki, servers } = link;
  const plainEnv = await chaosEnv(files, servers.mysql, servers.redis, 'linkplain');
  tlsGrpc = `127.0.0.1:${await freePort()}`;
  tlsApi = `127.0.0.1:${await freePort()}`;
  plainGrpc = `127.0.0.1:${await freePort()}`;
  await Promise.all([
    runningController(files, env, {
      id: 'ctl-link',
      grpcListen: tlsGrpc,
      name: 'controller-tls',
      more: { tls: pki.tls('ctl-link'), api: { enabled: true }, controller: { api_listen: tlsApi } },
    }),
    runningController(files, plainEnv, { id: 'ctl-plain', grpcListen: plainGrpc, name: 'controller-plain' }),
  ]);
});

/** Starts an agent (host id `hostId`) against `address` with `tls`; stopped by the test's cleanup. */
async function agent(
  t: { after: (fn: () => Promise<unknown>) => void },
  name: string,
  address: string,
  hostId: string,
  tls: Sections['tls'],
): Promise<ManagedProcess> {
  const config = await writeIni(
    link.env,
    `${name}.ini`,
    agentSections(link.env, { hostId, controllers: [address], services: {}, more: { tls: tls!, logging: { level: 'info' } } }),
  );
  const p = startDaemon('agent', config, name);
  t.after(() => p.stop());
  return p;
}

/** The explanation the agent logs for its failed link. */
async function linkDownReason(p: ManagedProcess): Promise<string> {
  const line = await p.waitForLine((_, j) => j?.msg === 'controller link down; reconnecting', 30_000, `${p.name} reports its link down`);
  return String(line.json?.why);
}

describe('agent link errors are plain and name the setting to fix', () => {
  test('an agent pointed at the HTTPS API port is told it does not speak the agent protocol and which key to use', async (t) => {
    const p = await agent(t, 'agent-api-port', tlsApi, 'h1', link.pki.tls('h1'));
    assert.equal(await linkDownReason(p), `${tlsApi} does not speak the smgr agent protocol (is agent.controller the gRPC port, controller.grpc_listen?)`);
    assert.ok(p.running, 'the agent keeps running (and retrying)');
  });

  test('a plaintext agent against a TLS controller is told the TLS settings disagree and to set tls.insecure = false', async (t) => {
    const p = await agent(t, 'agent-plain-vs-tls', tlsGrpc, 'h1', { insecure: true });
    const why = await linkDownReason(p);
    assert.match(why, /TLS settings of agent and controller disagree/);
    assert.match(why, /tls\.insecure = false/);
    assert.doesNotMatch(why, /Resolution note/);
  });

  test('a TLS agent against a plaintext controller is told the TLS settings disagree', async (t) => {
    const p = await agent(t, 'agent-tls-vs-plain', plainGrpc, 'h1', link.pki.tls('h1'));
    const why = await linkDownReason(p);
    assert.match(why, /TLS settings of agent and controller disagree/);
    assert.doesNotMatch(why, /ssl3_|deps\/openssl/);
  });

  test('a certificate for another host id ends the agent with exit 78 naming agent.host_id and tls.cert', async (t) => {
    const p = await agent(t, 'agent-wrong-cert', tlsGrpc, 'h1', link.pki.tls('h2'));
    const status = await Promise.race([
      p.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`agent still running:\n${p.tail()}`)), 60_000).unref()),
    ]);
    assert.equal(status.code, 78, p.tail());
    const stderr = p.lines().filter((l) => !l.startsWith('{'));
    assert.equal(stderr.length, 1, `one plain line:\n${stderr.join('\n')}`);
    assert.match(stderr[0]!, /^smgr-agent: invalid configuration: .*agent\.host_id = "h1".*tls\.cert/);
    assert.match(stderr[0]!, /certificate is for "h2"/);
    // Refused once, not retried.
    assert.equal(p.jsonLines().filter((j) => j.msg === 'controller refused this agent').length, 1);
  });

  test('an IP address in agent.controller connects over TLS without a DeprecationWarning', async (t) => {
    const p = await agent(t, 'agent-ip', tlsGrpc, 'h1', link.pki.tls('h1'));
    await waitForLog(p, 'connected to controller', 30_000);
    await waitFor(() => p.lineCount() > 0, { timeoutMs: 1_000, message: 'output read' });
    assert.deepEqual(
      p.lines().filter((l) => /DeprecationWarning|DEP0123|RFC 6066/.test(l)),
      [],
    );
  });
});
