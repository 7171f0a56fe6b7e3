import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { requireRouteRoles } from './route-roles.js';

test('a route without a declared role stops the API from starting; routes with a role or public start', async () => {
  const ok = Fastify();
  requireRouteRoles(ok);
  ok.get('/healthz', { config: { role: 'public' } }, async () => 'ok');
  ok.get('/v1/hosts', { config: { role: 'viewer' } }, async () => []);
  await ok.ready();
  assert.equal((await ok.inject({ url: '/healthz' })).statusCode, 200);
  await ok.close();

  const bad = Fastify();
  requireRouteRoles(bad);
  assert.throws(
    () => bad.post('/v1/forgotten', async () => 'done'),
    /API route POST \/v1\/forgotten declares no config\.role: give it 'public' or the least role allowed/,
  );
  await bad.close();
});
