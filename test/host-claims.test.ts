import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { create, AgentEventSchema } from '@smgr/shared';
import { waitFor } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { fleetCli } from '@smgr/testing/cli';
import { useFleet } from '@smgr/testing/use-fleet';
import { SimAgents } from '@smgr/testing/sim-agents';

/**
 * A hostile agent ("rogue", built from the real gRPC client) declares the
 * service a real agent (web1) already repairs by plain name, plus one nobody
 * claims. Its conflicting claim waits for an operator: the row stays web1's,
 * rogue gets no job for it and cannot raise its alarm. An operator's
 * `smgr hosts approve` / `reject` / `forget` then moves it, audited.
 */
const service = uniqueServiceName('claim');
const extra = `${service}-extra`;

let rogue: SimAgents;
const rogueJobs: string[] = [];

const smgr = (args: string[]) => fleetCli(fleet, args);

const status = async () =>
  (await fleet.db.query<{ alarma: number; notes: string | null }>('SELECT alarma, notes FROM STATUS_PROCESS WHERE process_id = 1'))[0]!;
const raise = () => fleet.db.exec('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id = 1');
const claimsOf = async (hostId: string) => {
  const r = await fleet.api.get(`/v1/hosts/${hostId}`);
  return new Map<string, string>(((r.body?.claims ?? []) as { service: string; state: string }[]).map((c) => [c.service, c.state]));
};
const waitCleared = (what: string) =>
  waitFor(async () => (await status()).alarma === 0, { timeoutMs: 30_000, intervalMs: 100, message: what, context: () => fleet.controller.tail() });
let eventSeq = 0;
const watchFailed = () =>
  create(AgentEventSchema, {
    eventId: `rogue-watch-${++eventSeq}`,
    kind: 'watch_failed',
    service,
    atMs: BigInt(Date.now()),
    message: 'failed 3 watch checks in a row (exit 1)',
    failures: 3,
  });
const eventRows = (n: number) =>
  waitFor(
    async () => {
      const rows = await fleet.db.query<{ process_id: number | null; message: string }>(
        "SELECT process_id, message FROM smgr_events WHERE host_id = 'rogue' AND kind = 'agent_event' ORDER BY id",
      );
      return rows.length >= n ? rows : null;
    },
    { timeoutMs: 15_000, intervalMs: 100, message: `rogue's event ${n} recorded` },
  );

const { fleet } = useFleet({ hostIds: ['web1'], service, controller: { monitor: { retry_delay: 0.5 } } }, async (fleet, files) => {
  await fleet.db.exec('INSERT INTO PROCESE (process_id, process_name) VALUES (1, ?)', [service]);
  await fleet.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 0, 0, NULL)');

  rogue = new SimAgents({
    address: fleet.grpcAddress,
    credentials: credentials.createInsecure(),
    hostIds: ['rogue'],
    services: () => [service, extra],
    reconnect: false,
    onJob: (_h, req) => {
      rogueJobs.push(req.service);
      // Says it repaired whatever it is sent, as a compromised agent would.
      return { jobId: req.jobId, outcome: 1, service: req.service, operation: req.operation, strategy: 'lie', message: 'all good', attempts: 1 };
    },
  });
  files.add(() => rogue.stop(), 'rogue');
  rogue.start();
  // Connected, and its claims decided (the conflicting one needs a read of PROCESE).
  await waitFor(async () => rogue.stats.welcomes === 1 && ![...(await claimsOf('rogue')).values()].includes('undecided'), {
    timeoutMs: 15_000,
    intervalMs: 100,
    message: 'rogue connected',
    context: () => fleet.controller.tail(),
  });
});

describe('a hostile agent claiming a service another host repairs', () => {
  test('its conflicting claim is held: the row stays on web1, which repairs it; rogue gets no job; its other claim is approved', async () => {
    await raise();
    await waitCleared('web1 repairs the row rogue claims');
    assert.match((await status()).notes ?? '', /restarted/);
    assert.deepEqual(rogueJobs, []);
    assert.equal((await claimsOf('web1')).get(service), 'approved', 'the first host of a service is approved by the default rule');
    const claims = await claimsOf('rogue');
    assert.equal(claims.get(service), 'pending');
    assert.equal(claims.get(extra), 'approved', 'a claim that changes no placement passes the default rule');
    const services = (await fleet.api.get('/v1/services')).body.services as { service: string; hosts: string[]; unapproved: string[] }[];
    assert.deepEqual(
      services.find((s) => s.service === service),
      { service, hosts: ['web1'], connected: 1, unapproved: ['rogue'] },
    );
  });

  test('its watch failure for that service is kept in the history only: no alarm, no note', async () => {
    const before = await status();
    assert.ok(rogue.send('rogue', { case: 'event', value: watchFailed() }));
    const [row] = await eventRows(1);
    assert.equal(row!.process_id, null);
    assert.match(row!.message, /rogue holds no approved claim on .*: recorded only/);
    assert.deepEqual(await status(), before);
  });

  test('smgr hosts marks the pending claim and --pending lists it with its reason', async () => {
    const list = await smgr(['hosts']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`rogue .*${service}\\(pending\\),${extra}`));
    const pending = await smgr(['hosts', '--pending']);
    assert.match(pending.stdout, new RegExp(`rogue +${service} +pending +would change where row "${service}" is repaired \\(now repaired by web1\\)`));
  });

  test("after smgr hosts approve the row is on both hosts (the operator's choice, said so): no one repairs it", async () => {
    const approve = await smgr(['hosts', 'approve', 'rogue']);
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, new RegExp(`rogue: approved ${service}\\n`));
    assert.match(approve.stdout, /now on several hosts; rows by that plain name are ambiguous/);
    await raise();
    await waitFor(async () => /on 2 hosts \(rogue, web1\)/.test((await status()).notes ?? ''), {
      timeoutMs: 15_000,
      intervalMs: 100,
      message: 'ambiguous note',
    });
    assert.deepEqual(rogueJobs, []);
  });

  test('after smgr hosts reject web1 --service, rogue is the one host: it gets the job and its watch raises the alarm', async () => {
    const reject = await smgr(['hosts', 'reject', 'web1', '--service', service]);
    assert.equal(reject.code, 0, reject.stderr);
    await waitCleared('rogue "repairs" the row');
    assert.deepEqual(rogueJobs, [service]);
    assert.ok(rogue.send('rogue', { case: 'event', value: watchFailed() }));
    const rows = await eventRows(2);
    assert.equal(rows[1]!.process_id, 1, 'the event matched the row and raised its alarm');
    const audit = (await fleet.api.get('/v1/audit?limit=10')).body.audit as { action: string; target: string; tokenName: string; outcome: string }[];
    assert.deepEqual(
      audit.filter((a) => a.action.startsWith('host.')).map((a) => [a.action, a.target, a.tokenName, a.outcome]),
      [
        ['host.reject', `host:web1/${service}`, 't-operator', 'ok'],
        ['host.approve', 'host:rogue', 't-operator', 'ok'],
      ],
    );
  });

  test('smgr hosts forget refuses a connected host, and forgets it once its agent is gone', async () => {
    const early = await smgr(['hosts', 'forget', 'rogue']);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /rogue is connected; stop its agent/);
    rogue.stop();
    await waitFor(async () => (await fleet.api.get('/v1/hosts/rogue')).body.connected === false, { timeoutMs: 15_000, intervalMs: 100, message: 'rogue down' });
    // The presence write is batched: forget waits for the database to say so too.
    await waitFor(async () => (await fleet.db.query<{ connected: number }>("SELECT connected FROM smgr_agents WHERE host_id = 'rogue'"))[0]?.connected === 0, {
      timeoutMs: 15_000,
      intervalMs: 100,
      message: 'rogue down in smgr_agents',
    });
    const forget = await smgr(['hosts', 'forget', 'rogue']);
    assert.equal(forget.code, 0, forget.stderr);
    assert.match(forget.stdout, /rogue forgotten \(2 claims deleted\)/);
    assert.equal((await fleet.api.get('/v1/hosts/rogue')).status, 404);
    assert.deepEqual(await fleet.db.query("SELECT * FROM smgr_host_claims WHERE host_id = 'rogue'"), []);
    assert.deepEqual(await fleet.db.query("SELECT * FROM smgr_agents WHERE host_id = 'rogue'"), []);
  });
});
