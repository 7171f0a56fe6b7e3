import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import {
  AgentMessageSchema,
  create,
  createAgentServiceClient,
  Outcome,
  PROTOCOL_VERSION,
  type AgentServiceClient,
  type ControllerMessage,
  type ControllerStream,
  type MessageInitShape,
} from '@smgr/shared';
import { useServers, Cleanup, useCleanup, waitFor } from '@smgr/testing';
import { startStack, type Stack } from '@smgr/testing/stack';
import { countLogs } from '@smgr/testing/chaos';
import { ApiClient, apiPortOf, createTokenViaController, waitForRollout } from '@smgr/testing/operator-api';
import { SimAgents, succeeded } from '@smgr/testing/sim-agents';

/**
 * A compromised agent speaking the real protocol through the real gRPC
 * client: whatever it sends, the controller refuses it clearly and keeps
 * serving everyone else (finding 4 of the security review).
 */
let stack: Stack;
let client: AgentServiceClient;
let api: ApiClient;
const files = new Cleanup();

after(() => files.run());
const servers = useServers();
before(async () => {
  await servers.ready;
  stack = await startStack(files, servers, {
    services: { 'real-svc': { restart_strategy: 'process', start_command: 'true', health_check_command: 'true' } },
    controller: {
      controller: { create_missing_rows: true, api_listen: '127.0.0.1:0' },
      api: { enabled: true, insecure: true },
    },
  });
  api = new ApiClient(`http://127.0.0.1:${await apiPortOf(stack.controller)}`, await createTokenViaController(stack.controllerConfig, 'root', 'admin'));
  client = createAgentServiceClient(`127.0.0.1:${stack.grpcPort}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  files.add(() => client.close(), 'grpc client');
});

type Hello = NonNullable<MessageInitShape<typeof AgentMessageSchema>['msg']> & { case: 'hello' };

/** One stream of the hostile agent: says `hello`, then whatever the test writes; keeps everything the controller answers. */
class Hostile {
  readonly replies: ControllerMessage[] = [];
  private readonly call: ControllerStream;
  constructor(hello: Hello['value']) {
    this.call = client.connect();
    this.call.on('data', (m: ControllerMessage) => this.replies.push(m));
    this.call.on('error', () => undefined);
    this.call.write(create(AgentMessageSchema, { msg: { case: 'hello', value: { agentVersion: 'evil', protocolVersion: PROTOCOL_VERSION, ...hello } } }));
  }
  write(msg: MessageInitShape<typeof AgentMessageSchema>['msg']): void {
    this.call.write(create(AgentMessageSchema, { msg }));
  }
  refusal(): { code: string; message: string } | undefined {
    const r = this.replies.find((m) => m.msg.case === 'refusal');
    return r?.msg.case === 'refusal' ? r.msg.value : undefined;
  }
  acks(): string[] {
    return this.replies.flatMap((m) => (m.msg.case === 'eventAck' ? [m.msg.value.eventId] : []));
  }
  welcomed(): boolean {
    return this.replies.some((m) => m.msg.case === 'welcome');
  }
  close(): void {
    this.call.cancel();
  }
}

function hostile(t: { after(fn: () => unknown): void }, hello: Hello['value']): Hostile {
  const h = new Hostile(hello);
  useCleanup(t).add(() => h.close(), 'hostile stream');
  return h;
}

const watchFailed = (eventId: string, service: string) =>
  ({ case: 'event', value: { eventId, kind: 'watch_failed', service, atMs: BigInt(Date.now()), message: 'failed', failures: 3 } }) as const;

const agentRow = (hostId: string) => stack.db.query<{ connected: number }>('SELECT connected FROM smgr_agents WHERE host_id = ?', [hostId]);

describe('a hostile Hello', () => {
  test("labels that would overflow smgr_agents.labels are refused, and other agents' presence is still saved", async (t) => {
    const labels = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'.repeat(255)]));
    const evil = hostile(t, { hostId: 'evil-labels', labels, services: [{ name: 'x', restartStrategy: 'process' }] });
    await waitFor(() => evil.refusal(), { timeoutMs: 10_000, message: 'refusal of the hostile Hello' });
    assert.equal(evil.refusal()!.code, 'BAD_HELLO');
    assert.equal(evil.refusal()!.message, 'too many labels (1000 > 64)');

    const big = hostile(t, { hostId: 'evil-label-size', labels: { k: 'v'.repeat(300) } });
    await waitFor(() => big.refusal(), { timeoutMs: 10_000, message: 'refusal of a long label' });
    assert.match(big.refusal()!.message, /^label k "v+…" is longer than 255 characters \(300\)$/);

    const longVersion = hostile(t, { hostId: 'evil-version', agentVersion: '9'.repeat(65) });
    await waitFor(() => longVersion.refusal(), { timeoutMs: 10_000, message: 'refusal of a long agent version' });
    assert.match(longVersion.refusal()!.message, /^agent_version "9+…" is longer than 64 characters \(65\)$/);

    const sims = new SimAgents({ address: `127.0.0.1:${stack.grpcPort}`, credentials: credentials.createInsecure(), hostIds: ['good-1'], reconnect: false });
    useCleanup(t).add(() => sims.stop(), 'sim agent');
    sims.start();
    await waitFor(async () => (await agentRow('good-1'))[0]?.connected === 1, { timeoutMs: 15_000, message: 'the good agent is saved in smgr_agents' });
    assert.deepEqual(await agentRow('evil-labels'), [], 'nothing of the hostile agent is stored');
  });
});

describe('hostile usage reports', () => {
  const usage = (service: string, more: Record<string, unknown> = {}) => ({
    service,
    running: true,
    source: 'proc',
    mainPid: 7,
    rssBytes: 1_000_000n,
    cpuPercent: 2,
    threads: 1,
    openFiles: 3,
    processes: 1,
    uptimeMs: 1000n,
    restarts: 0,
    sampledAtMs: BigInt(Date.now()),
    ...more,
  });
  test('a report with a hostile name, an absurd number or too many services is refused whole; the last good one stays', async (t) => {
    const evil = hostile(t, { hostId: 'evil-usage', services: [{ name: 'x', restartStrategy: 'process' }] });
    await waitFor(() => evil.welcomed(), { timeoutMs: 10_000, message: 'welcome' });
    evil.write({ case: 'usage', value: { sampledAtMs: BigInt(Date.now()), services: [usage('x')] } });
    const shown = async () => (await api.get('/v1/hosts/evil-usage/usage')).body?.services as { service: string; rssBytes: number }[] | undefined;
    await waitFor(async () => (await shown())?.length === 1, { timeoutMs: 10_000, message: 'the good report shown' });
    evil.write({ case: 'usage', value: { services: [usage('x\u001b]0;pwned\u0007', { rssBytes: 5n })] } });
    evil.write({ case: 'usage', value: { services: [usage('x', { rssBytes: 2n ** 62n })] } });
    evil.write({ case: 'usage', value: { services: Array.from({ length: 1001 }, (_, i) => usage(`s${i}`)) } });
    evil.write({ case: 'usage', value: { services: [usage('x', { cpuPercent: Number.NaN })] } });
    await waitFor(() => countLogs(stack.controller, 'agent input refused', (j) => j.hostId === 'evil-usage' && j.reason === 'bad_usage') >= 1, {
      timeoutMs: 10_000,
      message: 'the bad reports refused',
    });
    const metrics = await api.get<string>('/metrics');
    assert.match(metrics.body, /^smgr_agent_input_refused_total\{reason="bad_usage"\} [4-9]$/m);
    assert.deepEqual(
      (await shown())?.map((s) => [s.service, s.rssBytes]),
      [['x', 1_000_000]],
      'the last good report stays',
    );
    assert.match(metrics.body, /^smgr_service_memory_bytes\{host="evil-usage",service="x"\} 1000000$/m);
  });
});

describe('hostile events', () => {
  test('an event with an invalid id is refused and acknowledged: delivered five times, it writes nothing', async (t) => {
    const evil = hostile(t, { hostId: 'evil-ids', services: [{ name: 'x', restartStrategy: 'process' }] });
    await waitFor(() => evil.welcomed(), { timeoutMs: 10_000, message: 'welcome' });
    const badId = 'bad id; DROP TABLE PROCESE';
    for (let i = 0; i < 5; i++) evil.write(watchFailed(badId, 'x'));
    await waitFor(() => evil.acks().length === 5, { timeoutMs: 10_000, message: 'five acknowledgements' });
    assert.deepEqual(await stack.db.query("SELECT id FROM smgr_events WHERE host_id = 'evil-ids'"), []);
    assert.deepEqual(await stack.db.query("SELECT event_id FROM smgr_agent_events WHERE host_id = 'evil-ids'"), []);
    assert.ok(countLogs(stack.controller, 'agent input refused', (j) => j.hostId === 'evil-ids' && j.reason === 'bad_event') >= 1);
  });

  test('a flood of events is cut by the per-host rate: the excess is not acknowledged, and counted', async (t) => {
    const evil = hostile(t, { hostId: 'evil-flood', services: [{ name: 'x', restartStrategy: 'process' }] });
    await waitFor(() => evil.welcomed(), { timeoutMs: 10_000, message: 'welcome' });
    const n = 400;
    for (let i = 0; i < n; i++)
      evil.write({ case: 'event', value: { eventId: `flood-${i}`, kind: 'note', service: 'x', atMs: BigInt(Date.now()), message: 'spam' } });
    await waitFor(() => countLogs(stack.controller, 'agent input refused', (j) => j.hostId === 'evil-flood' && j.reason === 'rate') >= 1, {
      timeoutMs: 15_000,
      message: 'the flood is refused by rate',
    });
    const recorded = async () =>
      Number((await stack.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM smgr_agent_events WHERE host_id = 'evil-flood'"))[0]!.n);
    // Settled: every event acknowledged has been written.
    await waitFor(async () => (await recorded()) === evil.acks().length, { timeoutMs: 15_000, message: 'acknowledged events recorded' });
    assert.ok(evil.acks().length < n, `only part of the flood is taken (${evil.acks().length} of ${n})`);
    const metrics = await api.get<string>('/metrics');
    assert.match(metrics.body, /^smgr_agent_input_refused_total\{reason="rate"\} [1-9]\d*$/m);
  });

  test('create_missing_rows makes no PROCESE row for a service the agent did not declare or with a hostile name', async (t) => {
    const evil = hostile(t, {
      hostId: 'evil-rows',
      services: [
        { name: 'declared', restartStrategy: 'process' },
        { name: "x'; --", restartStrategy: 'process' },
      ],
    });
    await waitFor(() => evil.welcomed(), { timeoutMs: 10_000, message: 'welcome' });
    evil.write(watchFailed('rows-1', 'mysql'));
    evil.write(watchFailed('rows-2', "x'; --"));
    evil.write(watchFailed('rows-3', 'declared'));
    await waitFor(() => evil.acks().length === 3, { timeoutMs: 10_000, message: 'three acknowledgements' });
    const rows = await stack.db.query<{ process_name: string }>("SELECT process_name FROM PROCESE WHERE process_name LIKE '%@evil-rows'");
    assert.deepEqual(
      rows.map((r) => r.process_name),
      ['declared@evil-rows'],
    );
  });
});

describe('hostile results', () => {
  test('a version longer than the column ends the rollout host as failed instead of a save that fails forever', async (t) => {
    const sims = new SimAgents({
      address: `127.0.0.1:${stack.grpcPort}`,
      credentials: credentials.createInsecure(),
      hostIds: ['evil-version-result'],
      services: () => ['vsvc'],
      reconnect: false,
      onJob: (_h, req) => ({ ...succeeded(req), outcome: Outcome.SUCCEEDED, version: '7'.repeat(200) }),
    });
    useCleanup(t).add(() => sims.stop(), 'sim agent');
    sims.start();
    await waitFor(() => sims.stats.welcomes === 1, { timeoutMs: 10_000, message: 'welcome' });
    const res = await api.post('/v1/rollouts', { service: 'vsvc', version: '2.0', canary: 0, minHealthySeconds: 0, probeIntervalSeconds: 0.1 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const final = (r: any) => ['succeeded', 'aborted', 'rolled_back', 'rollback_failed', 'halted'].includes(r.state);
    const done = await waitForRollout(api, res.body.id, final, 'the rollout ends', 30_000);
    assert.notEqual(done.state, 'succeeded');
    assert.match(done.hosts[0].message, /result refused by the controller: version "7+…" is longer than 128 characters \(200\)/);
    assert.ok(countLogs(stack.controller, 'agent input refused', (j) => j.reason === 'bad_result') >= 1);
  });
});
