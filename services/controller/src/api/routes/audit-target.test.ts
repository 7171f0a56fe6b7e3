import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { paramTarget, targetFrom } from './audit-target.js';

test('an audit target reads the request part it names, and a missing part reads as fields that are absent', () => {
  const target = targetFrom<{ name: string }>('body', (b) => `token:${b.name ?? '?'}`);
  assert.equal(target({ body: { name: 'ci' } } as FastifyRequest), 'token:ci');
  assert.equal(target({ body: undefined } as FastifyRequest), 'token:?');
  assert.equal(target({ body: null } as unknown as FastifyRequest), 'token:?');
});

test('an audit target on a path parameter reads KIND:VALUE, and ? without it', () => {
  const target = paramTarget('rollout', 'id');
  assert.equal(target({ params: { id: 7 } } as unknown as FastifyRequest), 'rollout:7');
  assert.equal(target({ params: {} } as unknown as FastifyRequest), 'rollout:?');
});
