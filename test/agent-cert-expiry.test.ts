import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { issueCert, renewCert } from '@smgr/shared/pki';
import { waitFor } from '@smgr/testing';
import { controllerIdentity, tempPki } from '@smgr/testing/pki';
import { agentlessFleet } from '@smgr/testing/operator-api';
import { WebhookReceiver } from '@smgr/testing/receivers';
import { SimAgents } from '@smgr/testing/sim-agents';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * Agents' own client certificates: a real controller on mTLS sees each
 * agent's certificate on its gRPC stream (simulated agents, real protocol,
 * certificates from a throwaway smgr CA). One expires in 3 days, one in a
 * year; cert_warn_days is 14.
 */
const SECRET = 'agent-cert-hook';
const DAY = 86_400_000;

let hooks: WebhookReceiver;
let pki: string;
const soonUntil = Date.now() + 3 * DAY;

function sims(hostId: string, certName: string): SimAgents {
  const creds = credentials.createSsl(
    readFileSync(join(pki, 'ca.pem')),
    readFileSync(join(pki, `${certName}.key`)),
    readFileSync(join(pki, `${certName}.pem`)),
  );
  const s = new SimAgents({ address: fleet.grpcAddress, credentials: creds, hostIds: [hostId], reconnect: false });
  files.add(() => s.stop(), `sim ${hostId}`);
  s.start();
  return s;
}

async function hosts(): Promise<Map<string, { connected: boolean; certNotAfter: string | null }>> {
  const r = await fleet.api.as(fleet.tokens.viewer).get('/v1/hosts');
  return new Map((r.body?.hosts ?? []).map((h: { hostId: string; connected: boolean; certNotAfter: string | null }) => [h.hostId, h]));
}

const certMessages = (status: string) => hooks.accepted('/hook').filter((d) => d.body.status === status && d.body.event === 'cert_expiry');

const { fleet, files } = useFleet(async (files) => {
  pki = await tempPki(files, 'agent-cert');
  await issueCert(pki, 'ctl-certs', { role: 'controller', sans: ['127.0.0.1'] });
  await issueCert(pki, 'h-soon', { role: 'agent', notAfter: new Date(soonUntil) });
  await issueCert(pki, 'h-fine', { role: 'agent' });
  hooks = await WebhookReceiver.start(files, { '/hook': { secret: SECRET } });
  return agentlessFleet({
    ...controllerIdentity(pki, 'ctl-certs'),
    notify: { group_wait: 0.5, check_interval: 0.2, cert_warn_days: 14 },
    'receiver.hook': { type: 'webhook', url: `${hooks.url}/hook`, secret: SECRET },
    'route.certs': { receiver: 'hook', events: 'cert_expiry' },
  });
});

test('an agent certificate expiring within cert_warn_days raises cert_expiry for that host only, shown in /v1/hosts and /metrics', async () => {
  sims('h-soon', 'h-soon');
  sims('h-fine', 'h-fine');
  const seen = await waitFor(
    async () => {
      const h = await hosts();
      return h.get('h-soon')?.connected && h.get('h-fine')?.connected ? h : null;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'both agents connected', context: () => fleet.controller.tail() },
  );
  // The certificate's notAfter has second precision.
  assert.equal(seen.get('h-soon')!.certNotAfter, new Date(Math.floor(soonUntil / 1000) * 1000).toISOString());
  assert.ok(Date.parse(seen.get('h-fine')!.certNotAfter!) > Date.now() + 80 * DAY);

  const firing = await waitFor(() => certMessages('firing')[0], {
    timeoutMs: 30_000,
    message: 'cert_expiry message',
    context: () => fleet.controller.tail(),
  });
  assert.equal(firing.verified, true);
  assert.equal(firing.body.hostId, 'h-soon');
  assert.equal(firing.body.count, 1);
  assert.equal(firing.body.alerts[0].severity, 'warning');
  assert.match(firing.body.alerts[0].message, /client certificate of agent h-soon expires in [23]\.\d days .*smgr pki renew DIR h-soon/);
  const metrics = String((await fleet.api.get('/metrics')).body);
  assert.match(metrics, /^smgr_agent_certs_expiring 1$/m);
  // A second later: still the one message (deduplicated), nothing for h-fine.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(certMessages('firing').length, 1);
  assert.ok(hooks.accepted('/hook').every((d) => d.body.hostId !== 'h-fine'));
});

test('the agent back with a renewed certificate resolves the alert', async () => {
  // smgr pki renew h-soon: a new key and certificate in its files; the agent reconnects with them.
  await renewCert(pki, 'h-soon', { days: 365 });
  sims('h-soon', 'h-soon');
  const resolved = await waitFor(() => certMessages('resolved')[0], {
    timeoutMs: 30_000,
    message: 'cert_expiry resolved',
    context: () => fleet.controller.tail(),
  });
  assert.equal(resolved.body.hostId, 'h-soon');
  assert.ok(Date.parse((await hosts()).get('h-soon')!.certNotAfter!) > Date.now() + 300 * DAY);
  assert.match(String((await fleet.api.get('/metrics')).body), /^smgr_agent_certs_expiring 0$/m);
});
