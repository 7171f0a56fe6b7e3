/**
 * Resource rules end to end (issue 16): a real agent samples a real service
 * whose memory the test controls (test/fixtures/memory-hog.mjs), a real
 * controller records what the agent did, and the API and /metrics show
 * what the service costs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { makeTempDir, ManagedProcess, useCleanup, waitFor, type Cleanup, useServers } from '@smgr/testing';
import { ROOT, uniqueServiceName, waitForLog } from '@smgr/testing/smgr';
import { startStack, type Stack } from '@smgr/testing/stack';
import { findPids, killAll } from '@smgr/testing/procs';
import { ApiClient, apiPortOf, createTokenViaController, TEST_API_SETTINGS } from '@smgr/testing/operator-api';

const HOG = join(ROOT, 'test/fixtures/memory-hog.mjs');
const LIMIT_MIB = 160;
const BIG_MIB = 240;

const servers = useServers();

/** A memory hog service under a unique name, its size file at 0 MiB, and the agent's section for it. */
async function hog(cleanup: Cleanup, rules: Record<string, string | number>) {
  const dir = await makeTempDir('hog');
  cleanup.add(() => dir.remove());
  const name = uniqueServiceName('hog');
  cleanup.add(() => killAll(name), `processes named ${name}`);
  const sizeFile = join(dir.path, 'size');
  await writeFile(sizeFile, '0');
  const section = {
    restart_strategy: 'process',
    start_command: `${process.execPath} --expose-gc ${HOG} ${name} ${sizeFile}`,
    watch: true,
    watch_interval: 0.3,
    watch_failures: 3,
    restart_delay: 0.1,
    stop_timeout: 2,
    max_memory: `${LIMIT_MIB}M`,
    resource_checks: 3,
    resource_clear_checks: 2,
    ...rules,
  };
  return { name, sizeFile, section, setMiB: (n: number) => writeFile(sizeFile, String(n)) };
}

/** Starts the hog (as its start_command would), then the stack watching it. */
async function stackWithHog(cleanup: Cleanup, h: Awaited<ReturnType<typeof hog>>): Promise<{ stack: Stack; api: ApiClient; pid: number }> {
  const first = ManagedProcess.start(process.execPath, ['--expose-gc', HOG, h.name, h.sizeFile], { name: h.name });
  cleanup.add(() => first.stop());
  const [pid] = await waitFor(() => (findPids(h.name).length === 1 ? findPids(h.name) : null), { timeoutMs: 15_000, message: `${h.name} running` });
  const stack = await startStack(cleanup, servers, {
    services: { [h.name]: h.section },
    controller: { ...TEST_API_SETTINGS },
    // A report every round, so the test sees each one.
    agent: { usage_report_interval: h.section.watch_interval },
  });
  await stack.addProcess(1, h.name);
  const api = new ApiClient(`http://127.0.0.1:${await apiPortOf(stack.controller)}`, await createTokenViaController(stack.controllerConfig, 'ops', 'viewer'));
  return { stack, api, pid: pid! };
}

/** VmRSS of a process in MiB (the test's own reading, not the agent's). */
function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.POSITIVE_INFINITY;
}

const logs = (stack: Stack, msg: string, service: string) => stack.agent.jsonLines().filter((j) => j.msg === msg && j.service === service);

async function resourceEvents(stack: Stack, service: string) {
  return stack.db.query<{ id: number; message: string; outcome: string | null; detail: string }>(
    "SELECT id, message, outcome, detail FROM smgr_events WHERE kind = 'agent_event' AND service = ? AND JSON_VALUE(detail, '$.kind') LIKE 'resource%' ORDER BY id",
    [service],
  );
}

describe('resource rules', () => {
  test('a service above max_memory for resource_checks samples is restarted once, with the measured value in its event', async (t) => {
    const cleanup = useCleanup(t);
    const h = await hog(cleanup, { resource_action: 'restart' });
    const { stack, pid } = await stackWithHog(cleanup, h);

    await h.setMiB(BIG_MIB);
    await waitForLog(stack.agent, 'resource rule exceeded; restarting the service', 30_000, (j) => j.service === h.name);
    // The new process starts small: the rule clears after resource_clear_checks samples.
    await h.setMiB(0);
    await waitForLog(stack.agent, 'resource restart finished', 30_000, (j) => j.service === h.name && j.ok === true);
    await waitForLog(stack.agent, 'resource rule cleared', 30_000, (j) => j.service === h.name);

    const [now] = findPids(h.name);
    assert.ok(now !== undefined && now !== pid, `restarted: pid ${pid} -> ${now}`);
    assert.equal(logs(stack, 'resource rule exceeded; restarting the service', h.name).length, 1, 'one restart');
    assert.deepEqual(
      logs(stack, 'resource rule over its limit', h.name).map((j) => j.count),
      [1, 2],
      'two samples over the limit, the third one acts',
    );
    const events = await waitFor(
      async () => {
        const rows = await resourceEvents(stack, h.name);
        return rows.length >= 2 ? rows : null;
      },
      { timeoutMs: 20_000, message: 'both resource events recorded', context: () => stack.controller.tail() },
    );
    // Recorded in the order their transactions commit, which need not be the order they were sent.
    const kindOf = (e: { detail: string }) => (JSON.parse(e.detail) as { kind: string }).kind;
    const exceeded = events.find((e) => kindOf(e) === 'resource_exceeded');
    const cleared = events.find((e) => kindOf(e) === 'resource_cleared');
    assert.ok(exceeded && cleared, JSON.stringify(events));
    const detail = JSON.parse(exceeded!.detail) as {
      kind: string;
      resource: { rule: string; value: number; limit: number; action: string; mainPid: number };
      result: { outcome: string };
    };
    assert.equal(detail.kind, 'resource_exceeded');
    assert.equal(detail.resource.rule, 'memory');
    assert.equal(detail.resource.action, 'restart');
    assert.equal(detail.resource.limit, LIMIT_MIB * 1024 * 1024);
    assert.ok(detail.resource.value > detail.resource.limit, `measured ${detail.resource.value} bytes above the limit`);
    assert.equal(detail.resource.mainPid, pid);
    assert.equal(detail.result.outcome, 'SUCCEEDED');
    assert.match(exceeded!.message, new RegExp(`memory \\d+(\\.\\d)? MiB above max_memory ${LIMIT_MIB} MiB for 3 checks \\(pid ${pid}\\): restarted`));
    assert.equal(exceeded!.outcome, 'succeeded');
    assert.equal(events.length, 2, 'one exceeded, one cleared');
    const s = await stack.status(1);
    assert.equal(s.alarma, 0, 'a successful restart raises no alarm');
    assert.match(s.notes ?? '', /max_memory/);
  });

  test('a spike above max_memory shorter than resource_checks samples restarts nothing', async (t) => {
    const cleanup = useCleanup(t);
    const h = await hog(cleanup, { resource_action: 'restart', watch_interval: 1 });
    const { stack, pid } = await stackWithHog(cleanup, h);
    const agentPid = stack.agent.pid!;

    await h.setMiB(BIG_MIB);
    await waitForLog(stack.agent, 'resource rule over its limit', 30_000, (j) => j.service === h.name && j.count === 1);
    // The spike ends between two samples, whatever the load: the agent is held still until the hog has given its memory back.
    process.kill(agentPid, 'SIGSTOP');
    cleanup.add(() => process.kill(agentPid, 'SIGCONT'), 'agent resumed');
    const seen = logs(stack, 'resource rule over its limit', h.name).map((j) => j.count as number);
    assert.ok(Math.max(...seen) < 3, `the spike was caught after ${seen.length} sample(s) over the limit, fewer than resource_checks`);
    await h.setMiB(0);
    await waitFor(() => rssMiB(pid) < LIMIT_MIB / 2, { timeoutMs: 15_000, message: 'the hog gave its memory back' });
    process.kill(agentPid, 'SIGCONT');
    await waitForLog(stack.agent, 'resource rule back within its limit before its checks', 30_000, (j) => j.service === h.name);
    // A few more samples, all within the limit: nothing counts any more.
    const from = stack.agent.lineCount();
    for (let i = 0; i < 3; i++) await stack.agent.waitForLine((_l, j) => j?.msg === 'usage report sent', 30_000, 'a usage round', stack.agent.lineCount());
    assert.ok(stack.agent.lineCount() > from);

    assert.deepEqual(findPids(h.name), [pid], 'the same process still runs');
    assert.equal(logs(stack, 'resource rule exceeded; restarting the service', h.name).length, 0);
    assert.deepEqual(await resourceEvents(stack, h.name), []);
  });

  test('action alarm raises the alarm through the controller, which repairs the service; the API and /metrics show what it costs', async (t) => {
    const cleanup = useCleanup(t);
    const h = await hog(cleanup, { resource_action: 'alarm' });
    const { stack, api, pid } = await stackWithHog(cleanup, h);

    const usage = await waitFor(
      async () => {
        const r = await api.get(`/v1/hosts/${stack.hostId}/usage`);
        const u = (r.body?.services ?? []).find((s: { service: string }) => s.service === h.name);
        return u?.running && u.cpuPercent !== null ? u : null;
      },
      { timeoutMs: 20_000, message: 'a usage sample with CPU' },
    );
    assert.equal(usage.mainPid, pid);
    assert.equal(usage.source, 'proc');
    assert.ok(usage.rssBytes > 1024 * 1024 && usage.threads >= 1 && usage.processes === 1 && usage.openFiles > 0);
    const cli = (args: string[]) =>
      execFileSync(process.execPath, [join(ROOT, 'packages/cli/bin/smgr.js'), ...args], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: stack.dir, NO_COLOR: '1', SMGR_CLI_URL: api.url, SMGR_CLI_TOKEN: api.token! },
      });
    assert.match(
      cli(['hosts', '--services']),
      new RegExp(`^${stack.hostId}\\s+${h.name}\\s+running\\s+${pid}\\s+\\d+(\\.\\d)? MiB\\s+\\d+\\.\\d%\\s+\\d+\\s+\\d+\\s+1\\s+\\d+[smhd]`, 'm'),
    );
    assert.match(cli(['status']), /^services: {2}1 of 1 running on 1 connected host\(s\); most memory host-a\//m);
    const metrics = await api.get('/metrics');
    assert.match(String(metrics.body), new RegExp(`smgr_service_memory_bytes\\{host="${stack.hostId}",service="${h.name}"\\} \\d+`));

    await h.setMiB(BIG_MIB);
    await waitForLog(stack.agent, 'resource rule exceeded', 30_000, (j) => j.service === h.name && j.action === 'alarm');
    await h.setMiB(0);
    const [event] = await waitFor(
      async () => {
        const rows = await resourceEvents(stack, h.name);
        return rows.length > 0 ? rows : null;
      },
      { timeoutMs: 20_000, message: 'the resource event recorded', context: () => stack.controller.tail() },
    );
    // The controller repairs the alarmed row with its ordinary restart job.
    await waitFor(
      async () =>
        ((await stack.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM smgr_events WHERE kind = 'repair' AND process_id = 1 AND id > ?", [event!.id]))[0]
          ?.n ?? 0) > 0,
      { timeoutMs: 30_000, message: 'the repair the alarm caused', context: () => stack.controller.tail() },
    );
    const s = await stack.waitForAlarm(1, 0, 30_000);
    assert.match(s.notes ?? '', /restarted by process strategy/);
    assert.notDeepEqual(findPids(h.name), [pid]);
    assert.equal(JSON.parse(event!.detail).resource.action, 'alarm');
    assert.match(event!.message, /memory .* MiB above max_memory .*: alarm raised/);
  });
});
