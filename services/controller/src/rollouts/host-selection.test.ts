import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundError, RefusedError } from '@smgr/shared';
import { AgentRegistry } from '../agents/agent-registry.js';
import { selectHosts } from './host-selection.js';

function registry(): AgentRegistry {
  const r = new AgentRegistry();
  const put = (hostId: string, services: string[], labels: Record<string, string>, connected = true) => {
    r.put({
      hostId,
      labels,
      agentVersion: 't',
      services: services.map((name) => ({ name, restartStrategy: 'process', startupRank: 0, watched: false })),
      connected,
      lastSeen: null,
    });
    for (const name of services) r.setClaim(hostId, name, { state: 'approved', reason: 'test', decidedBy: 'test', updatedAt: 0 });
  };
  put('web10', ['nginx'], { role: 'web', zone: 'b' });
  put('web2', ['nginx'], { role: 'web', zone: 'a' });
  put('web1', ['nginx'], { role: 'web', zone: 'a' }, false);
  put('db1', ['mysql'], { role: 'db' });
  return r;
}

describe('host selection', () => {
  it('selects every host managing the service in natural order when nothing narrows it', () => {
    assert.deepEqual(selectHosts(registry(), 'nginx', {}, { requireConnected: false }), ['web1', 'web2', 'web10']);
  });

  it('keeps the order of an explicit host list and narrows it by labels', () => {
    assert.deepEqual(selectHosts(registry(), 'nginx', { hosts: ['web10', 'web2', 'web10'] }, { requireConnected: false }), ['web10', 'web2']);
    assert.deepEqual(selectHosts(registry(), 'nginx', { hosts: ['web10', 'web2'], labels: { zone: 'a' } }, { requireConnected: false }), ['web2']);
    assert.deepEqual(selectHosts(registry(), 'nginx', { labels: { role: 'web', zone: 'a' } }, { requireConnected: false }), ['web1', 'web2']);
  });

  it('says which service, hosts or selector is wrong', () => {
    const r = registry();
    assert.throws(
      () => selectHosts(r, 'redis', {}, { requireConnected: false }),
      (e: unknown) => e instanceof NotFoundError && /no agent manages service "redis"/.test(e.message),
    );
    assert.throws(
      () => selectHosts(r, 'nginx', { hosts: ['web2', 'x9'] }, { requireConnected: false }),
      (e: unknown) => e instanceof NotFoundError && /unknown host\(s\): x9/.test(e.message),
    );
    assert.throws(
      () => selectHosts(r, 'nginx', { hosts: ['db1'] }, { requireConnected: false }),
      (e: unknown) => e instanceof RefusedError && e.code === 'HOST_NOT_MANAGING',
    );
    assert.throws(
      () => selectHosts(r, 'nginx', { labels: { zone: 'c' } }, { requireConnected: false }),
      (e: unknown) => e instanceof RefusedError && e.code === 'SELECTOR_EMPTY',
    );
    assert.throws(
      () => selectHosts(r, 'nginx', { labels: { zone: 'a' } }, { requireConnected: true }),
      (e: unknown) => e instanceof RefusedError && e.code === 'HOSTS_DISCONNECTED' && /web1/.test(e.message),
    );
  });
});
