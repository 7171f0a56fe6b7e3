import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { create, AgentMessageSchema, type AgentMessage } from '@smgr/shared';
import { helloRefusal, type HelloContext } from './hello-admission.js';

const hello = (hostId: string): AgentMessage => create(AgentMessageSchema, { msg: { case: 'hello', value: { hostId, agentVersion: '0.1.0' } } });
const cert = (cn: string, raw = Buffer.from('der')) => ({ subject: { CN: cn }, raw }) as unknown as PeerCertificate;
const ctx = (more: Partial<HelloContext> = {}): HelloContext => ({ draining: false, requirePeerIdentity: true, certificate: cert('web-1'), ...more });

test('a valid Hello from the host its certificate names opens a session', () => {
  assert.equal(helloRefusal(hello('web-1'), ctx()), null);
  assert.equal(helloRefusal(hello('web-1'), ctx({ requirePeerIdentity: false, certificate: undefined })), null, 'plaintext (tls.insecure)');
});

test('each reason to refuse a first message, in order', () => {
  const heartbeat = create(AgentMessageSchema, { msg: { case: 'heartbeat', value: {} } });
  assert.equal(helloRefusal(heartbeat, ctx())?.code, 'HELLO_REQUIRED');
  const draining = helloRefusal(hello('web-1'), ctx({ draining: true }));
  assert.deepEqual([draining?.code, draining?.context], ['DRAINING', { hostId: 'web-1' }]);
  assert.equal(helloRefusal(hello('no spaces allowed'), ctx())?.code, 'BAD_HELLO');
  const other = helloRefusal(hello('web-1'), ctx({ certificate: cert('db-1') }));
  assert.deepEqual([other?.code, other?.message], ['IDENTITY_MISMATCH', 'certificate is for "db-1", not web-1']);
  assert.equal(helloRefusal(hello('web-1'), ctx({ certificate: undefined }))?.code, 'IDENTITY_MISMATCH', 'no certificate where one is required');
  const revoked = helloRefusal(hello('web-1'), ctx({ checkCertificate: (der) => (der?.toString() === 'der' ? 'certificate serial 0A is revoked' : null) }));
  assert.deepEqual([revoked?.code, revoked?.message], ['CERT_REFUSED', 'certificate serial 0A is revoked']);
});

test('a draining controller names at most 255 characters of a hostile host id', () => {
  const r = helloRefusal(hello('x'.repeat(10_000)), ctx({ draining: true }));
  assert.equal(String(r?.context.hostId).length, 255);
});
