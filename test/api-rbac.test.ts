import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { ApiClient, type Role } from '@smgr/testing/operator-api';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * Roles viewer < operator < admin on every endpoint of the API, 401/403
 * bodies, the audit trail, and token management.
 */
const service = uniqueServiceName('rbac');

const { fleet } = useFleet({ hostIds: ['a1'], service }, async (fleet) => {
  await fleet.db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (1, 'nobody-runs-this')");
  await fleet.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 0, 0, NULL)');
});

type Least = Role | 'public';
interface Endpoint {
  method: 'GET' | 'POST' | 'DELETE';
  /** As OpenAPI writes it. */
  route: string;
  least: Least;
  /** Concrete path and body used. */
  path: () => string;
  body?: () => unknown;
  /** A Server-Sent Events stream: only its status is read, then it is closed. */
  stream?: boolean;
}

/** One request of the matrix; a stream is closed once its status is known. */
async function callEndpoint(client: ApiClient, e: Endpoint) {
  if (!e.stream) return client.call(e.method, e.path(), e.body?.());
  const abort = new AbortController();
  const res = await fetch(`${client.url}${e.path()}`, {
    headers: client.token === undefined ? {} : { authorization: `Bearer ${client.token}` },
    signal: abort.signal,
  });
  const body = res.status === 200 ? {} : await res.json().catch(() => ({}));
  abort.abort();
  return { status: res.status, body: body as any, headers: res.headers };
}

let rolloutId = 0;
let operationId = 'op-0';
const ENDPOINTS: Endpoint[] = [
  { method: 'GET', route: '/healthz', least: 'public', path: () => '/healthz' },
  { method: 'GET', route: '/v1/status', least: 'viewer', path: () => '/v1/status' },
  { method: 'GET', route: '/metrics', least: 'viewer', path: () => '/metrics' },
  { method: 'GET', route: '/v1/hosts', least: 'viewer', path: () => '/v1/hosts' },
  { method: 'GET', route: '/v1/hosts/{hostId}', least: 'viewer', path: () => '/v1/hosts/a1' },
  { method: 'GET', route: '/v1/hosts/{hostId}/services', least: 'viewer', path: () => '/v1/hosts/a1/services' },
  { method: 'GET', route: '/v1/hosts/{hostId}/usage', least: 'viewer', path: () => '/v1/hosts/a1/usage' },
  { method: 'GET', route: '/v1/usage', least: 'viewer', path: () => '/v1/usage' },
  { method: 'GET', route: '/v1/services', least: 'viewer', path: () => '/v1/services' },
  { method: 'POST', route: '/v1/hosts/{hostId}/approve', least: 'operator', path: () => '/v1/hosts/a1/approve', body: () => ({}) },
  { method: 'POST', route: '/v1/hosts/{hostId}/reject', least: 'operator', path: () => '/v1/hosts/a1/reject', body: () => ({ service: 'not-claimed' }) },
  { method: 'DELETE', route: '/v1/hosts/{hostId}', least: 'operator', path: () => '/v1/hosts/gone-host' },
  { method: 'GET', route: '/v1/processes', least: 'viewer', path: () => '/v1/processes' },
  { method: 'GET', route: '/v1/alarms', least: 'viewer', path: () => '/v1/alarms' },
  { method: 'POST', route: '/v1/alarms/raise', least: 'operator', path: () => '/v1/alarms/raise', body: () => ({ processIds: [1] }) },
  { method: 'POST', route: '/v1/alarms/clear', least: 'operator', path: () => '/v1/alarms/clear', body: () => ({ all: true }) },
  {
    method: 'POST',
    route: '/v1/processes',
    least: 'operator',
    path: () => '/v1/processes',
    body: () => ({ name: `added-${Math.random().toString(36).slice(2, 8)}` }),
  },
  { method: 'GET', route: '/v1/placements', least: 'viewer', path: () => '/v1/placements' },
  { method: 'POST', route: '/v1/placements', least: 'operator', path: () => '/v1/placements', body: () => ({ processId: 1, hostId: 'a1' }) },
  { method: 'DELETE', route: '/v1/placements', least: 'operator', path: () => '/v1/placements?processId=1&host=a1' },
  { method: 'POST', route: '/v1/operations', least: 'operator', path: () => '/v1/operations', body: () => ({ operation: 'status', service }) },
  { method: 'GET', route: '/v1/operations/{id}', least: 'viewer', path: () => `/v1/operations/${operationId}` },
  { method: 'GET', route: '/v1/events', least: 'viewer', path: () => '/v1/events' },
  { method: 'GET', route: '/v1/rollouts', least: 'viewer', path: () => '/v1/rollouts' },
  {
    method: 'POST',
    route: '/v1/rollouts',
    least: 'operator',
    path: () => '/v1/rollouts',
    body: () => ({ service, version: '1.0', canary: 0, minHealthySeconds: 0, probeIntervalSeconds: 0.1 }),
  },
  { method: 'GET', route: '/v1/rollouts/{id}', least: 'viewer', path: () => `/v1/rollouts/${rolloutId}` },
  ...(['pause', 'resume', 'promote', 'abort', 'rollback'] as const).map(
    (c): Endpoint => ({ method: 'POST', route: `/v1/rollouts/{id}/${c}`, least: 'operator', path: () => `/v1/rollouts/${rolloutId}/${c}` }),
  ),
  { method: 'GET', route: '/v1/tokens', least: 'admin', path: () => '/v1/tokens' },
  {
    method: 'POST',
    route: '/v1/tokens',
    least: 'admin',
    path: () => '/v1/tokens',
    body: () => ({ name: `made-${Math.random().toString(36).slice(2, 8)}`, role: 'viewer' }),
  },
  { method: 'DELETE', route: '/v1/tokens/{name}', least: 'admin', path: () => '/v1/tokens/t-doomed' },
  { method: 'GET', route: '/v1/audit', least: 'admin', path: () => '/v1/audit' },
  { method: 'POST', route: '/v1/notify/test', least: 'operator', path: () => '/v1/notify/test', body: () => ({ receiver: 'none-configured' }) },
  { method: 'GET', route: '/v1/notify/dead-letters', least: 'viewer', path: () => '/v1/notify/dead-letters' },
  { method: 'POST', route: '/v1/notify/dead-letters/{id}/retry', least: 'operator', path: () => `/v1/notify/dead-letters/msg-${'0'.repeat(32)}/retry` },
  { method: 'GET', route: '/v1/notify/alerts', least: 'viewer', path: () => '/v1/notify/alerts' },
  // The web console's session and live feed (the page and its assets are public and not in the document).
  { method: 'POST', route: '/ui/session', least: 'public', path: () => '/ui/session', body: () => ({ token: fleet.tokens.viewer }) },
  { method: 'GET', route: '/ui/session', least: 'viewer', path: () => '/ui/session' },
  { method: 'DELETE', route: '/ui/session', least: 'viewer', path: () => '/ui/session' },
  { method: 'GET', route: '/ui/events', least: 'viewer', path: () => '/ui/events', stream: true },
  { method: 'GET', route: '/ui/api/overview', least: 'viewer', path: () => '/ui/api/overview' },
];

const RANK: Record<Least, number> = { public: 0, viewer: 1, operator: 2, admin: 3 };

describe('the API authorises by role', () => {
  test('the matrix below covers every route of the OpenAPI document', async () => {
    const doc = await fleet.api.as(undefined).get('/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.components.securitySchemes.bearer.scheme, 'bearer');
    const documented = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    assert.deepEqual(documented, ENDPOINTS.map((e) => `${e.method} ${e.route}`).sort());
  });

  test('no token and a bad token get 401 with a body saying what to send, on every protected endpoint', async () => {
    const bogus = `smgr_${'A'.repeat(43)}`;
    for (const e of ENDPOINTS.filter((x) => x.least !== 'public')) {
      for (const client of [fleet.api.as(undefined), fleet.api.as(bogus)]) {
        const r = await callEndpoint(client, e);
        assert.equal(r.status, 401, `${e.method} ${e.route} ${client.token ? 'bad token' : 'no token'}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error, 'UNAUTHENTICATED');
        assert.match(r.body.message, client.token ? /unknown, revoked or expired token/ : /missing bearer token: send "Authorization: Bearer <token>"/);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="smgr"');
      }
    }
    const malformed = await fleet.api.as(undefined).call('GET', '/v1/hosts', undefined, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
    assert.equal(malformed.status, 401);
  });

  test('each role gets 403 below the least role of an endpoint and is let through at or above it', async () => {
    const doomed = await fleet.api.post('/v1/tokens', { name: 't-doomed', role: 'viewer' });
    assert.equal(doomed.status, 201);
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const client = fleet.api.as(fleet.tokens[role]);
      for (const e of ENDPOINTS) {
        if (e.route.includes('{id}') && rolloutId === 0) {
          const created = await fleet.api
            .as(fleet.tokens.operator)
            .post('/v1/rollouts', ENDPOINTS.find((x) => x.route === '/v1/rollouts' && x.method === 'POST')!.body!());
          assert.equal(created.status, 201, JSON.stringify(created.body));
          rolloutId = created.body.id;
        }
        if (e.route === '/v1/operations/{id}' && operationId === 'op-0') {
          const started = await fleet.api.as(fleet.tokens.operator).post('/v1/operations', { operation: 'status', service });
          assert.equal(started.status, 202, JSON.stringify(started.body));
          operationId = started.body.id;
        }
        const r = await callEndpoint(client, e);
        const what = `${role} ${e.method} ${e.route} -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
        if (RANK[role] < RANK[e.least]) {
          assert.equal(r.status, 403, what);
          assert.equal(r.body.error, 'FORBIDDEN');
          assert.match(r.body.message, new RegExp(`has role ${role}; .* needs ${e.least} or higher`));
        } else {
          assert.ok(r.status !== 401 && r.status !== 403 && r.status < 500, what);
        }
      }
    }
  });

  test('a viewer changes nothing and an operator manages no tokens, and the audit trail says who tried what', async () => {
    await fleet.api.post('/v1/alarms/clear', { all: true });
    const t0 = Date.now();
    const viewer = fleet.api.as(fleet.tokens.viewer);
    const denied = await viewer.post('/v1/alarms/raise', { processIds: [1] });
    assert.equal(denied.status, 403);
    assert.equal((await fleet.db.query<{ alarma: number }>('SELECT alarma FROM STATUS_PROCESS WHERE process_id = 1'))[0]!.alarma, 0);

    const operator = fleet.api.as(fleet.tokens.operator);
    const mint = await operator.post('/v1/tokens', { name: 'sneaky', role: 'admin' });
    assert.equal(mint.status, 403);
    assert.equal((await fleet.db.query("SELECT name FROM smgr_api_tokens WHERE name = 'sneaky'")).length, 0);

    const raised = await operator.post('/v1/alarms/raise', { processIds: [1] });
    assert.equal(raised.status, 200);
    const rows = await fleet.db.query<{
      token_name: string | null;
      role: string | null;
      action: string;
      target: string;
      outcome: string;
      status_code: number;
      at: Date;
    }>('SELECT token_name, role, action, target, outcome, status_code, at FROM smgr_audit ORDER BY id DESC LIMIT 3');
    assert.deepEqual(
      rows.map((r) => [r.token_name, r.role, r.action, r.target, r.outcome, r.status_code]),
      [
        ['t-operator', 'operator', 'alarm.raise', 'process:1', 'ok', 200],
        ['t-operator', 'operator', 'token.create', 'token:sneaky', 'denied', 403],
        ['t-viewer', 'viewer', 'alarm.raise', 'process:1', 'denied', 403],
      ],
    );
    // Stored with millisecond precision (truncated): no earlier than the second before the first request.
    assert.ok(
      rows.every((r) => r.at instanceof Date && r.at.getTime() >= t0 - 1_000),
      'each row has the time of its request',
    );

    // Anyone can send those: they are counted and logged (test/api-abuse.test.ts), never a row each.
    const anonymous = await fleet.api.as(undefined).post('/v1/rollouts', { service, version: '1.0' });
    assert.equal(anonymous.status, 401);
    const [last] = await fleet.db.query<{ token_name: string | null; outcome: string; action: string }>(
      'SELECT token_name, outcome, action FROM smgr_audit ORDER BY id DESC LIMIT 1',
    );
    assert.deepEqual(last, { token_name: 't-operator', outcome: 'ok', action: 'alarm.raise' }, 'no audit row for a 401');

    const before = (await fleet.db.query('SELECT id FROM smgr_audit')).length;
    for (const path of ['/v1/hosts', '/v1/alarms', '/v1/tokens', '/v1/rollouts']) assert.equal((await fleet.api.get(path)).status, 200);
    assert.equal((await fleet.db.query('SELECT id FROM smgr_audit')).length, before, 'reads are not audited');
    const viaApi = await fleet.api.get('/v1/audit?limit=3');
    assert.equal(viaApi.status, 200);
    assert.equal(viaApi.body.audit[0].action, 'alarm.raise');
  });
});

describe('API tokens', () => {
  test('a token is shown once, stored only as its SHA-256, listed without secrets, and stops working when revoked', async () => {
    const created = await fleet.api.post('/v1/tokens', { name: 'ci-deploy', role: 'operator' });
    assert.equal(created.status, 201);
    const secret = created.body.token as string;
    assert.match(secret, /^smgr_[A-Za-z0-9_-]{43}$/);
    const [row] = await fleet.db.query<{ token_hash: string; created_by: string }>(
      "SELECT token_hash, created_by FROM smgr_api_tokens WHERE name = 'ci-deploy'",
    );
    const { createHash } = await import('node:crypto');
    assert.equal(row!.token_hash, createHash('sha256').update(secret).digest('hex'));
    assert.equal(row!.created_by, 'root');
    const listed = await fleet.api.get('/v1/tokens');
    assert.ok(!JSON.stringify(listed.body).includes(secret));
    assert.ok(!JSON.stringify(listed.body).includes(row!.token_hash));
    assert.deepEqual(
      listed.body.tokens.find((t: any) => t.name === 'ci-deploy'),
      { name: 'ci-deploy', role: 'operator', createdAt: created.body.createdAt, createdBy: 'root', expiresAt: null, lastUsedAt: null, revokedAt: null },
    );

    const ci = new ApiClient(fleet.api.url, secret);
    assert.equal((await ci.get('/v1/hosts')).status, 200);
    const dup = await fleet.api.post('/v1/tokens', { name: 'ci-deploy', role: 'viewer' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error, 'TOKEN_EXISTS');

    const revoked = await fleet.api.call('DELETE', '/v1/tokens/ci-deploy');
    assert.equal(revoked.status, 200);
    const after = await ci.get('/v1/hosts');
    assert.equal(after.status, 401);
    assert.equal((await fleet.api.call('DELETE', '/v1/tokens/no-such')).status, 404);
  });

  test('a token past its expiry is refused', async () => {
    const created = await fleet.api.post('/v1/tokens', { name: 'short-lived', role: 'viewer', expiresInDays: 1 / 86_400 });
    assert.equal(created.status, 201);
    const client = new ApiClient(fleet.api.url, created.body.token);
    await waitFor(async () => (await client.get('/v1/hosts')).status === 401, { timeoutMs: 10_000, intervalMs: 200, message: 'token expired' });
  });

  test('the first admin token comes from the controller binary and is audited as a local change', async () => {
    const rows = await fleet.db.query<{ token_name: string; action: string; target: string }>(
      "SELECT token_name, action, target FROM smgr_audit WHERE target = 'token:root'",
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.token_name, /^local:/);
    assert.equal(rows[0]!.action, 'token.create');
  });
});
