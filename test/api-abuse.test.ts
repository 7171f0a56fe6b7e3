import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess } from '@smgr/testing';
import { CONTROLLER_MAIN, uniqueServiceName } from '@smgr/testing/smgr';
import { countLogs } from '@smgr/testing/chaos';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * What an anonymous client or a low-privilege token can do to the API:
 * refused requests are counted and logged without filling smgr_audit, each
 * client address is rate-limited (429 + Retry-After), and viewers do not read
 * the command lines and output that agents report.
 */
const LIMIT = 20;

const { fleet, files } = useFleet({
  hostIds: ['a1'],
  service: uniqueServiceName('abuse'),
  // Long enough that no window ends during the test.
  controller: { api: { rate_limit_max: LIMIT, rate_limit_window: 3600 } },
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** One request from `from` (another loopback address is another client to the rate limit). */
function request(from: string, method: string, path: string, token?: string, body?: unknown): Promise<Reply> {
  const url = new URL(path, fleet.api.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        localAddress: from,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const auditCount = async () => Number((await fleet.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM smgr_audit'))[0]!.n);

async function refusedMetric(status: string): Promise<number> {
  const r = await fleet.api.get<string>('/metrics');
  const m = new RegExp(`^smgr_api_refused_total\\{status="${status}"\\} (\\d+)$`, 'm').exec(r.body);
  return m ? Number(m[1]) : 0;
}

describe('refused API requests', () => {
  test('unauthenticated change attempts are counted and logged (throttled) but write no audit rows', async () => {
    const audited = await auditCount();
    const counted = await refusedMetric('401');
    const from = fleet.controller.lineCount();
    const n = 15;
    for (let i = 0; i < n; i++) {
      const r = await request('127.0.0.3', 'POST', '/v1/alarms/raise', i % 2 ? `smgr_${'B'.repeat(43)}` : undefined, { processIds: [1] });
      assert.equal(r.status, 401);
    }
    assert.equal(await auditCount(), audited, 'no smgr_audit row per 401');
    assert.equal((await refusedMetric('401')) - counted, n);
    const lines = countLogs(fleet.controller, 'api request refused', (j) => j.remoteAddr === '127.0.0.3');
    assert.ok(lines >= 1 && lines < n / 2, `refusals are logged, a line per address every 10 s at most (${lines} lines for ${n})`);
    assert.equal(
      fleet.controller
        .lines()
        .slice(from)
        .filter((l) => l.includes('"api request"') && l.includes('"statusCode":401')).length,
      0,
      'no per-request line for refused requests',
    );

    const denied = await fleet.api.as(fleet.tokens.viewer).post('/v1/alarms/raise', { processIds: [1] });
    assert.equal(denied.status, 403);
    const [row] = await fleet.db.query<{ token_name: string; outcome: string }>('SELECT token_name, outcome FROM smgr_audit ORDER BY id DESC LIMIT 1');
    assert.deepEqual(row, { token_name: 't-viewer', outcome: 'denied' }, 'a change denied by role is still audited');
  });

  test('a client address over api.rate_limit_max gets 429 with Retry-After; other addresses are served', async () => {
    const counted = await refusedMetric('429');
    const statuses: number[] = [];
    let last: Reply | undefined;
    for (let i = 0; i < LIMIT + 5; i++) {
      last = await request('127.0.0.2', 'GET', '/v1/hosts', fleet.tokens.viewer);
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [...Array(LIMIT).fill(200), ...Array(5).fill(429)]);
    assert.equal(last!.body.error, 'RATE_LIMITED');
    assert.match(last!.body.message, /more than 20 requests from 127\.0\.0\.2 within 3600 s; retry after \d+ s/);
    const retryAfter = Number(last!.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 3600, `Retry-After: ${last!.headers['retry-after']}`);
    const anonymous = await request('127.0.0.2', 'POST', '/v1/alarms/raise', undefined, { processIds: [1] });
    assert.equal(anonymous.status, 429, 'the limit applies before the token is looked at');
    assert.equal((await refusedMetric('429')) - counted, 6);
    assert.equal((await request('127.0.0.4', 'GET', '/v1/hosts', fleet.tokens.viewer)).status, 200);
  });
});

describe('what a viewer reads', () => {
  test('event details hide command lines and output tails from viewers; operators see them', async () => {
    const detail = {
      result: { outcome: 'SUCCEEDED', steps: [{ name: 'start', argv: ['/usr/bin/app', '--password=hunter2'], exitCode: 0, outputTail: 'token=s3cret' }] },
      check: { name: 'health', argv: ['curl', '-u', 'admin:pw'], outputTail: 'ok' },
    };
    await fleet.db.exec("INSERT INTO smgr_events (at, kind, host_id, service, message, detail) VALUES (NOW(3), 'repair', 'a1', 'app', 'restarted', ?)", [
      JSON.stringify(detail),
    ]);
    const asViewer = await fleet.api.as(fleet.tokens.viewer).get('/v1/events?limit=1');
    assert.equal(asViewer.status, 200);
    const text = JSON.stringify(asViewer.body);
    for (const secret of ['hunter2', 's3cret', 'admin:pw', '/usr/bin/app']) assert.ok(!text.includes(secret), `the viewer sees ${secret}: ${text}`);
    assert.deepEqual(asViewer.body.events[0].detail.result.steps[0], { name: 'start', exitCode: 0, redacted: ['argv', 'outputTail'] });
    const asOperator = await fleet.api.as(fleet.tokens.operator).get('/v1/events?limit=1');
    assert.deepEqual(asOperator.body.events[0].detail, detail);
  });
});

describe('plaintext listeners', () => {
  test('a controller with tls.insecure or api.insecure on a non-loopback address exits 78 naming the key; allow_insecure_remote lets it', async () => {
    const text = await readFile(fleet.controllerConfig, 'utf8');
    assert.match(text, /grpc_listen = 127\.0\.0\.1:\d+/);
    const remote = text.replace(/grpc_listen = 127\.0\.0\.1:/, 'grpc_listen = 0.0.0.0:').replace(/api_listen = 127\.0\.0\.1:0/, 'api_listen = 0.0.0.0:0');
    const config = join(fleet.dir, 'remote.ini');
    await writeFile(config, remote);
    const p = ManagedProcess.start(process.execPath, [CONTROLLER_MAIN, '--config', config], { name: 'controller-remote' });
    files.add(() => p.stop(), 'remote controller');
    const exit = await p.exited;
    assert.equal(exit.code, 78);
    const out = p.lines().join('\n');
    // A plain line on stderr or the failure in the JSON log: either names the key, the rule and the fix.
    assert.match(
      out,
      /controller\.grpc_listen = \\?"0\.0\.0\.0:\d+\\?": tls\.insecure = true: plaintext may listen on loopback only .*controller\.allow_insecure_remote = true/,
    );
    assert.match(out, /controller\.api_listen = \\?"0\.0\.0\.0:0\\?": api\.insecure = true/);

    const allowed = join(fleet.dir, 'remote-allowed.ini');
    await writeFile(
      allowed,
      remote
        .replace(/\[controller\]\n/, '[controller]\nallow_insecure_remote = true\n')
        .replace(/grpc_listen = 0\.0\.0\.0:\d+/, 'grpc_listen = 0.0.0.0:0')
        .replace(/\nid = ctl-fleet\n/, '\nid = ctl-remote\n'),
    );
    const ok = ManagedProcess.start(process.execPath, [CONTROLLER_MAIN, '--config', allowed], { name: 'controller-remote-allowed' });
    files.add(() => ok.stop(), 'allowed controller');
    await ok.waitForLine((_l, j) => j?.msg === 'api listening', 30_000, 'the allowed controller listens');
    assert.equal(ok.exitStatus, undefined);
    await ok.stop();
  });
});
