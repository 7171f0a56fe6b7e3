import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import type { ApiDeps } from '../api-types.js';
import { registerRouteGroups } from './route-groups.js';

test("every API route is listed in the OpenAPI document under its routes file's tag", async (t) => {
  const app = Fastify();
  t.after(() => app.close());
  await app.register(swagger, { openapi: { openapi: '3.0.3', info: { title: 'smgr', version: '0' } } });
  // Registering reads only operationTimeoutMs; the handlers, which read the rest, are not called.
  await registerRouteGroups(app, { operationTimeoutMs: 60_000 } as ApiDeps);
  await app.ready();
  const paths = app.swagger().paths as Record<string, Record<string, { tags?: string[] }>>;
  const tags = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([m, op]) => [`${m.toUpperCase()} ${path}`, op.tags] as const));
  assert.ok(tags.length >= 30, 'the routes were registered');
  for (const [route, t] of tags) assert.equal(t?.length, 1, `${route} has one tag`);
  const tagOf = Object.fromEntries(tags.map(([route, t]) => [route, t?.[0]]));
  assert.equal(tagOf['GET /v1/services'], 'hosts');
  assert.equal(tagOf['GET /v1/hosts/{hostId}/usage'], 'hosts');
  assert.equal(tagOf['GET /v1/audit'], 'tokens');
  assert.equal(tagOf['POST /v1/alarms/raise'], 'alarms');
  assert.equal(tagOf['POST /v1/notify/dead-letters/{id}/retry'], 'notify');
});
