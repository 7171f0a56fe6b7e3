import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundError, RefusedError, UnavailableError } from '@smgr/shared';
import { ApiError, toHttpError, validationBody } from './http-errors.js';

describe('HTTP error mapping', () => {
  it('maps smgr error codes to statuses and keeps internals out of 500 bodies', () => {
    assert.equal(toHttpError(new NotFoundError('no host x')).status, 404);
    assert.equal(toHttpError(new RefusedError('ROLLOUT_ACTIVE', 'busy')).status, 409);
    assert.equal(toHttpError(new RefusedError('SELECTOR_EMPTY', 'none')).status, 422);
    assert.equal(toHttpError(new UnavailableError('NOT_ACTIVE', 'standby')).status, 503);
    assert.equal(toHttpError(new ApiError(401, 'UNAUTHENTICATED', 'who')).status, 401);
    assert.equal(toHttpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).status, 503);
    const internal = toHttpError(new Error('secret detail at /etc/smgr'));
    assert.deepEqual([internal.status, internal.body.message, internal.internal], [500, 'internal error; see the controller log', true]);
  });

  it('shows only public context fields as details', () => {
    const e = new RefusedError('HOST_NOT_MANAGING', 'x', { context: { hosts: ['a'], password: 'p', service: 's' } });
    assert.deepEqual(toHttpError(e).body.details, { hosts: ['a'], service: 's' });
  });

  it('names every rejected field once, with unknown and missing fields spelled out', () => {
    const body = validationBody('body', [
      { instancePath: '', keyword: 'additionalProperties', params: { additionalProperty: 'colour' }, message: 'must NOT have additional properties' },
      { instancePath: '', keyword: 'required', params: { missingProperty: 'version' }, message: "must have required property 'version'" },
      { instancePath: '/canary', keyword: 'minimum', params: { limit: 0 }, message: 'must be >= 0' },
      { instancePath: '/batchSize', keyword: 'minimum', params: { limit: 1 }, message: 'must be >= 1' },
      { instancePath: '/batchSize', keyword: 'type', params: { type: 'string' }, message: 'must be string' },
      { instancePath: '/batchSize', keyword: 'pattern', params: { pattern: '^(100|[1-9][0-9]?)%$' }, message: 'must match pattern' },
      { instancePath: '/batchSize', keyword: 'anyOf', params: {}, message: 'must match a schema in anyOf' },
    ]);
    assert.deepEqual(
      body.fields?.map((f) => `${f.field}: ${f.message}`),
      ['batchSize: must be a whole number >= 1 or a percentage such as "25%"', 'colour: unknown field', 'version: is required', 'canary: must be >= 0'],
    );
    assert.equal(body.error, 'INVALID_REQUEST');
    assert.match(
      body.message,
      /^body\.batchSize: must be a whole number >= 1 .*; body\.colour: unknown field; body\.version: is required; body\.canary: must be >= 0$/,
    );
  });
});
