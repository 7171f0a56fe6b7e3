import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentRegistry, type Claim } from './agent-registry.js';

const agent = (hostId: string, services: string[]) => ({
  hostId,
  labels: {},
  agentVersion: 't',
  services: services.map((name) => ({ name, restartStrategy: 'process', startupRank: 0, watched: false })),
  connected: true,
  lastSeen: null,
});
const claim = (state: Claim['state']): Claim => ({ state, reason: '', decidedBy: null, updatedAt: 0 });

test('a host manages a service only while it declares it under an approved claim', () => {
  const r = new AgentRegistry();
  r.put(agent('web1', ['nginx']));
  assert.deepEqual(r.hostsManaging('nginx'), [], 'undecided counts as not approved');
  assert.deepEqual(r.undecided('web1'), ['nginx']);
  r.setClaim('web1', 'nginx', claim('pending'));
  assert.deepEqual(r.hostsManaging('nginx'), []);
  assert.deepEqual(r.undecided('web1'), []);
  r.setClaim('web1', 'nginx', claim('approved'));
  assert.deepEqual(r.hostsManaging('nginx'), ['web1']);
  r.put(agent('web1', ['mysql']));
  assert.deepEqual(r.hostsManaging('nginx'), [], 'no longer declared');
  r.put(agent('web1', ['nginx', 'mysql']));
  assert.deepEqual(r.hostsManaging('nginx'), ['web1'], 'declared again: the approval still stands');
  r.setClaim('web1', 'nginx', claim('rejected'));
  assert.deepEqual(r.hostsManaging('nginx'), []);
});

test('forgetting a host drops it and its claims', () => {
  const r = new AgentRegistry();
  r.put(agent('web1', ['nginx']));
  r.setClaim('web1', 'nginx', claim('approved'));
  r.remove('web1');
  assert.equal(r.get('web1'), undefined);
  assert.equal(r.claimsOf('web1').size, 0);
  assert.deepEqual(r.hostsManaging('nginx'), []);
});
