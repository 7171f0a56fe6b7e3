import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cleanup, startMariaDb, startRedis, waitFor, type MariaDbInstance, type RedisInstance } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { startFleet, type Fleet } from '@smgr/testing/operator-api';

/**
 * The console's live feed (GET /ui/events, Server-Sent Events) and its
 * session cookie at the HTTP level, against a real controller and MariaDB:
 * a reconnect with Last-Event-ID gets what it missed, streams are bounded,
 * viewers get no command lines, and sessions end with their token.
 */
let mysql: MariaDbInstance;
let redis: RedisInstance;
let fleet: Fleet;
const cleanup = new Cleanup();
const service = uniqueServiceName('fsvc');

before(async () => {
  [mysql, redis] = await Promise.all([startMariaDb(), startRedis()]);
  fleet = await startFleet(cleanup, { mysql, redis }, { hostIds: ['f1'], service, controller: { api: { console_max_clients: 2 } } });
  // Processes nobody manages: their alarms stay raised (with a note), so each change is one feed event.
  for (const id of [1, 2, 3]) {
    await fleet.db.query('INSERT INTO PROCESE (process_id, process_name) VALUES (?, ?)', [id, `nobody-${id}`]);
    await fleet.db.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, 0, 0, NULL)', [id]);
  }
});
after(async () => {
  await cleanup.run();
  await Promise.allSettled([mysql?.stop(), redis?.stop()]);
});

interface SseEvent {
  id: string;
  event: string;
  data: any;
}

/** An open event stream: the events parsed so far, and a way to wait for more. */
class Stream {
  readonly events: SseEvent[] = [];
  private readonly abort = new AbortController();
  status = 0;
  private constructor() {}

  static async open(headers: Record<string, string>): Promise<Stream> {
    const s = new Stream();
    const res = await fetch(`${fleet.api.url}/ui/events`, { headers, signal: s.abort.signal });
    s.status = res.status;
    if (res.status !== 200) {
      await res.text();
      return s;
    }
    void s.read(res.body!);
    return s;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: Record<string, string> = {};
          for (const line of block.split('\n')) {
            const m = /^([a-z]+): ?(.*)$/.exec(line);
            if (m) f[m[1]!] = m[2]!;
          }
          if (f.event !== undefined) this.events.push({ id: f.id ?? '', event: f.event, data: JSON.parse(f.data ?? 'null') });
        }
      }
    } catch {
      // aborted
    }
  }

  async next(pred: (e: SseEvent) => boolean, message: string): Promise<SseEvent> {
    return waitFor(() => this.events.find(pred) ?? null, {
      timeoutMs: 20_000,
      intervalMs: 20,
      message,
      context: () => JSON.stringify(this.events).slice(-2000),
    });
  }

  close(): void {
    this.abort.abort();
  }
}

const bearer = (role: 'viewer' | 'operator' | 'admin') => ({ authorization: `Bearer ${fleet.tokens[role]}` });
const alarmed = (e: SseEvent) => (e.data.alarms as { processId: number }[]).map((a) => a.processId).sort();
const setAlarm = (id: number, v: 0 | 1) => fleet.db.query('UPDATE STATUS_PROCESS SET alarma = ? WHERE process_id = ?', [v, id]);

describe('console live feed', () => {
  test('a client that reconnects with Last-Event-ID is replayed the alarm changes it missed, in order', async () => {
    const first = await Stream.open(bearer('viewer'));
    assert.equal(first.status, 200);
    await setAlarm(1, 1);
    const seen = await first.next((e) => e.event === 'alarms' && alarmed(e).includes(1), 'alarm 1 on the feed');
    first.close();
    // While it is away: two more changes, each seen by the feed (a second stream waits for each).
    const witness = await Stream.open(bearer('viewer'));
    await setAlarm(2, 1);
    await witness.next((e) => e.event === 'alarms' && alarmed(e).includes(2), 'alarm 2');
    await setAlarm(1, 0);
    await witness.next((e) => e.event === 'alarms' && !alarmed(e).includes(1), 'alarm 1 cleared');
    witness.close();

    const again = await Stream.open({ ...bearer('viewer'), 'last-event-id': seen.id });
    const replayed = await again.next((e) => e.event === 'alarms' && !alarmed(e).includes(1), 'missed events replayed');
    const alarmsEvents = again.events.filter((e) => e.event === 'alarms');
    assert.deepEqual(alarmsEvents.slice(0, 2).map(alarmed), [[1, 2], [2]], 'both missed changes, oldest first');
    assert.ok(replayed.id > seen.id);
    again.close();
    await setAlarm(2, 0);
  });

  test('an unknown or foreign Last-Event-ID gets a reset event (reload), never a silent gap', async () => {
    const s = await Stream.open({ ...bearer('viewer'), 'last-event-id': 'zzzz.99999' });
    const reset = await s.next((e) => e.event === 'reset', 'reset');
    assert.match(reset.id, /^[0-9a-z]+\.\d+$/);
    s.close();
  });

  test('streams are bounded: past api.console_max_clients a client gets 503 with Retry-After', async () => {
    const a = await Stream.open(bearer('viewer'));
    const b = await Stream.open(bearer('viewer'));
    assert.deepEqual([a.status, b.status], [200, 200]);
    const res = await fetch(`${fleet.api.url}/ui/events`, { headers: bearer('viewer') });
    assert.equal(res.status, 503);
    assert.ok(res.headers.get('retry-after'));
    assert.equal(((await res.json()) as { error: string }).error, 'TOO_MANY_STREAMS');
    a.close();
    b.close();
    // Closed streams free their slots.
    await waitFor(
      async () => {
        const s = await Stream.open(bearer('viewer'));
        s.close();
        return s.status === 200;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'a slot free again' },
    );
  });

  test('the feed refuses requests without a token or session, and viewers get history without argv or output', async () => {
    const anon = await fetch(`${fleet.api.url}/ui/events`);
    assert.equal(anon.status, 401);
    const viewer = await Stream.open(bearer('viewer'));
    const operator = await Stream.open(bearer('operator'));
    // A repair on f1 (name@host placement): its history row has steps with argv and output.
    await fleet.db.query('INSERT INTO PROCESE (process_id, process_name) VALUES (?, ?)', [4, `${service}@f1`]);
    await fleet.db.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, 1, 0, NULL)', [4]);
    const hasSteps = (e: SseEvent) => e.event === 'history' && e.data.events.some((x: any) => x.kind === 'repair' && x.processId === 4);
    const full = await operator.next(hasSteps, 'repair history for the operator');
    const redacted = await viewer.next(hasSteps, 'repair history for the viewer');
    const text = (e: SseEvent) => JSON.stringify(e.data);
    assert.match(text(full), /"argv":\[/);
    assert.doesNotMatch(text(redacted), /"argv":|"outputTail":/);
    viewer.close();
    operator.close();
  });

  test('a session cookie stops working when its token is revoked, and a bearer token needs no CSRF token', async () => {
    const made = await fleet.api.post('/v1/tokens', { name: 'short-lived', role: 'operator' });
    assert.equal(made.status, 201);
    const signin = await fetch(`${fleet.api.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: made.body.token }),
    });
    assert.equal(signin.status, 201);
    const setCookie = signin.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /smgr_session=[A-Za-z0-9_-]{43}/);
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assert.doesNotMatch(setCookie, new RegExp(made.body.token));
    const cookie = setCookie.split(';')[0]!;
    assert.equal((await fetch(`${fleet.api.url}/v1/hosts`, { headers: { cookie } })).status, 200);
    assert.equal((await fleet.api.call('DELETE', '/v1/tokens/short-lived')).status, 200);
    assert.equal((await fetch(`${fleet.api.url}/v1/hosts`, { headers: { cookie } })).status, 401);
    // Scripts keep using the bearer header, with no CSRF token.
    const raise = await fleet.api.as(fleet.tokens.operator).post('/v1/alarms/raise', { processIds: [3] });
    assert.equal(raise.status, 200, JSON.stringify(raise.body));
    await setAlarm(3, 0);
    // A bad token at sign-in is a 401 and sets no cookie.
    const bad = await fetch(`${fleet.api.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: `smgr_${'A'.repeat(43)}` }),
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);
  });

  test('the console page is served with a strict CSP and its assets with their types; unknown assets are 404', async () => {
    const page = await fetch(`${fleet.api.url}/ui`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\//, 'no external URL in the page');
    const js = await fetch(`${fleet.api.url}/ui/assets/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.doesNotMatch(await js.text(), /https?:\/\/(?!www\.w3\.org)/, 'the bundle loads nothing from elsewhere');
    assert.equal((await fetch(`${fleet.api.url}/ui/assets/..%2F..%2Fpackage.json`)).status, 404);
    assert.equal((await fetch(`${fleet.api.url}/ui/assets/nope.js`)).status, 404);
  });
});
