import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServers, freePort, useCleanup } from '@smgr/testing';
import {
  addProcesses,
  agentSections,
  assertEachRepairedExactlyOnce,
  chaosEnv,
  controllerSections,
  countingServices,
  countLogs,
  raiseAlarms,
  startDaemon,
  waitAllCleared,
  writeIni,
  startControllerAndAgent,
  startSlowRepairs,
} from '@smgr/testing/chaos';
import { waitFor } from '@smgr/testing';

const servers = useServers();

describe('controller crash and stop during repairs', () => {
  test('a controller killed with SIGKILL while jobs run at the agent loses nothing and restarts nothing twice', async (t) => {
    const cleanup = useCleanup(t);
    const sc = await startSlowRepairs(cleanup, servers, { label: 'kill9', n: 5, preRestartSeconds: 2, controllerName: 'controller-1' });
    const { env, services, ids, controllerConfig: ctlConfig, controller: first, agent } = sc;
    await first.kill9();
    t.diagnostic(`controller killed with ${countLogs(agent, 'job started')} job(s) started at the agent`);

    const second = startDaemon('controller', ctlConfig, 'controller-2');
    cleanup.add(() => second.stop(), 'controller 2');
    await waitAllCleared(env.db, ids, 90_000, sc.context([second, agent]));
    await assertEachRepairedExactlyOnce(env, ids, services);
    const replayed = countLogs(second, 'repair succeeded; alarm cleared', (j) => j.replayed === true);
    assert.ok(replayed >= 1, 'jobs the dead controller had sent were answered from the agent journal, not run again');
    t.diagnostic(`${replayed} of ${ids.length} results were replays from the agent journal`);
  });

  test('SIGTERM during repairs exits cleanly, hands the jobs back, and the next controller finishes each exactly once', async (t) => {
    const cleanup = useCleanup(t);
    const sc = await startSlowRepairs(cleanup, servers, { label: 'term', n: 3, preRestartSeconds: 6, controllerName: 'controller-1' });
    const { env, services, ids, controllerConfig: ctlConfig, controller: first, agent } = sc;
    const t0 = Date.now();
    const exit = await first.stop('SIGTERM', 25_000);
    t.diagnostic(`controller stopped ${Date.now() - t0} ms after SIGTERM`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `clean exit\n${first.tail()}`);
    assert.ok(countLogs(first, 'repair job handed back') >= 1, `jobs still at the agent were handed back\n${first.tail()}`);
    assert.equal(countLogs(first, 'clean stop took too long; exiting'), 0);

    const second = startDaemon('controller', ctlConfig, 'controller-2');
    cleanup.add(() => second.stop(), 'controller 2');
    await waitAllCleared(env.db, ids, 90_000, sc.context([second, agent]));
    await assertEachRepairedExactlyOnce(env, ids, services);
  });

  test('an open circuit breaker survives a controller crash, then allows exactly one trial after circuit_reset_time', async (t) => {
    const cleanup = useCleanup(t);
    const env = await chaosEnv(cleanup, servers.mysql, servers.redis, 'breaker');
    const [healthy] = await countingServices(cleanup, env, `brk${Math.random().toString(16).slice(2, 6)}-`, 1);
    const grpc = `127.0.0.1:${await freePort()}`;
    const ctlConfig = await writeIni(
      env,
      'controller.ini',
      controllerSections(env, {
        id: 'ctl-breaker',
        grpcListen: grpc,
        more: { monitor: { max_restart_failures: 2, retry_delay: 0.5, circuit_reset_time: 10 } },
      }),
    );
    const agentConfig = await writeIni(
      env,
      'agent.ini',
      agentSections(env, {
        hostId: 'brk-h1',
        controllers: [grpc],
        services: {
          broken: { restart_strategy: 'process', start_command: '/bin/false', max_attempts: 1, health_check_timeout: 1 },
          [healthy!.name]: { restart_strategy: 'process', start_command: healthy!.path },
        },
      }),
    );
    const [brokenId, healthyId] = await addProcesses(env.db, ['broken', healthy!.name]);
    const repairs = async () =>
      Number((await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM smgr_events WHERE kind = 'repair' AND process_id = ?", [brokenId]))[0]?.n);
    const { controller: first } = await startControllerAndAgent(cleanup, ctlConfig, agentConfig, 'controller-1');

    await raiseAlarms(env.db, [brokenId!]);
    const opened = await waitFor(
      async () => {
        const [row] = await env.db.query<{ notes: string }>('SELECT notes FROM STATUS_PROCESS WHERE process_id = ?', [brokenId]);
        return /circuit open until/.test(row?.notes ?? '') ? row!.notes : null;
      },
      { timeoutMs: 20_000, message: 'breaker opened after two failed repairs', context: () => first.tail() },
    );
    assert.match(opened, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ circuit open until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    assert.equal(await repairs(), 2);
    await first.kill9();

    const second = startDaemon('controller', ctlConfig, 'controller-2');
    cleanup.add(() => second.stop(), 'controller 2');
    // A healthy alarm repaired by the new controller proves it has been polling meanwhile.
    await raiseAlarms(env.db, [healthyId!]);
    await waitAllCleared(env.db, [healthyId!], 30_000, () => second.tail());
    const [breaker] = await env.db.query<{ consecutive_failures: number; open_until: Date | null }>(
      'SELECT consecutive_failures, open_until FROM smgr_breakers WHERE process_id = ?',
      [brokenId],
    );
    assert.equal(breaker?.consecutive_failures, 2, 'the breaker state was read back from MySQL');
    if (Date.now() < breaker!.open_until!.getTime()) assert.equal(await repairs(), 2, 'no repair while the breaker is open');

    // After circuit_reset_time: one trial, which fails and opens the breaker again.
    await waitFor(async () => (await repairs()) === 3, { timeoutMs: 30_000, message: 'one trial after the reset time', context: () => second.tail() });
    const [again] = await env.db.query<{ consecutive_failures: number; open_until: Date }>(
      'SELECT consecutive_failures, open_until FROM smgr_breakers WHERE process_id = ?',
      [brokenId],
    );
    assert.equal(again?.consecutive_failures, 3);
    assert.ok(again!.open_until.getTime() > Date.now() + 5_000, 'the failed trial opened the breaker for another reset time');
    assert.equal(await repairs(), 3, 'exactly one trial');
  });
});
