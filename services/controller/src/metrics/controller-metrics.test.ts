import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import { loadConfig, Outcome } from '@smgr/shared';
import { useServers, createTestDatabase, freePort, makeTempDir, uniquePrefix, useCleanup, waitFor } from '@smgr/testing';
import { SimAgents, succeeded } from '@smgr/testing/sim-agents';
import { Controller } from '../controller.js';
import { ControllerMetrics } from './controller-metrics.js';

const servers = useServers();

/** The value of one sample in Prometheus text, e.g. value(text, 'smgr_repairs_total{outcome="failed"}'). */
function value(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

describe('ControllerMetrics', () => {
  test('an unbound registry scrapes with zero gauges and every smgr metric declared', async () => {
    const text = await new ControllerMetrics({ defaultMetrics: false }).text();
    for (const name of [
      'smgr_alarms_seen_total',
      'smgr_repairs_total',
      'smgr_repair_duration_seconds',
      'smgr_alarm_to_cleared_seconds',
      'smgr_alarm_detection_seconds',
      'smgr_connected_agents',
      'smgr_open_breakers',
      'smgr_queue_depth',
      'smgr_controller_active',
      'smgr_agent_refusals_total',
      'smgr_tls_refusals_total',
    ]) {
      assert.match(text, new RegExp(`# TYPE ${name} `), name);
    }
    assert.equal(value(text, 'smgr_connected_agents'), 0);
    assert.equal(value(text, 'smgr_controller_active'), 0);
  });

  test('a running controller counts alarms, repairs by outcome, latencies, agents, open breakers and queue depth', async (t) => {
    const cleanup = useCleanup(t);
    const tmp = await makeTempDir('metrics');
    cleanup.add(() => tmp.remove());
    const db = await createTestDatabase(servers.mysql);
    cleanup.add(() => db.drop());
    const port = await freePort();
    const file = join(tmp.path, 'controller.ini');
    await writeFile(
      file,
      [
        `[database]\nhost = ${servers.mysql.host}\nport = ${servers.mysql.port}\nuser = ${servers.mysql.user}\npassword = ${servers.mysql.password}\ndatabase = ${db.name}`,
        '[monitor]\ncheck_interval = 0.1\nmax_restart_failures = 1\ncircuit_reset_time = 600\nretry_delay = 60',
        `[redis]\nurl = ${servers.redis.url}\nprefix = ${uniquePrefix('metrics')}`,
        `[controller]\nid = ctl-metrics\ngrpc_listen = 127.0.0.1:${port}\nheartbeat_interval = 1\nagent_ttl = 5`,
        '[tls]\ninsecure = true',
      ].join('\n\n'),
    );
    const controller = new Controller({ config: loadConfig({ file, env: {} }), log: pino({ level: 'silent' }) });
    cleanup.add(() => controller.stop(), 'controller');
    await controller.start();
    const sims = new SimAgents({
      address: `127.0.0.1:${port}`,
      credentials: credentials.createInsecure(),
      hostIds: ['m1', 'm2'],
      // m2's service always fails to restart.
      onJob: (host, req) => (host === 'm2' ? { ...succeeded(req), outcome: Outcome.FAILED, message: 'start command exited 1' } : succeeded(req)),
    });
    cleanup.add(() => sims.stop(), 'sim agents');
    sims.start();
    await waitFor(() => sims.connectedCount() === 2, { timeoutMs: 10_000, message: 'two agents connected' });
    await db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (1, 'svc-m1'), (2, 'svc-m2')");
    await db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma) VALUES (1, 0), (2, 0)');
    // One poll first, so that detection has a previous poll to measure from.
    await waitFor(async () => value(await controller.metrics.text(), 'smgr_controller_active') === 1, { timeoutMs: 5_000, message: 'active' });
    await db.exec('UPDATE STATUS_PROCESS SET alarma = 1');

    const text = await waitFor(
      async () => {
        const m = await controller.metrics.text();
        return (value(m, 'smgr_repairs_total{outcome="succeeded"}') ?? 0) + (value(m, 'smgr_repairs_total{outcome="failed"}') ?? 0) === 2 ? m : null;
      },
      { timeoutMs: 15_000, message: 'two repair outcomes counted' },
    );
    assert.equal(value(text, 'smgr_alarms_seen_total{source="poll"}'), 2);
    assert.equal(value(text, 'smgr_repairs_total{outcome="succeeded"}'), 1);
    assert.equal(value(text, 'smgr_repairs_total{outcome="failed"}'), 1);
    assert.equal(value(text, 'smgr_repair_duration_seconds_count{outcome="failed"}'), 1);
    assert.equal(value(text, 'smgr_alarm_to_cleared_seconds_count'), 1);
    assert.equal(value(text, 'smgr_alarm_detection_seconds_count'), 2);
    assert.ok((value(text, 'smgr_alarm_detection_seconds_sum') ?? Infinity) < 10);
    assert.equal(value(text, 'smgr_connected_agents'), 2);
    assert.equal(value(text, 'smgr_controller_active'), 1);
    assert.equal(value(text, 'smgr_open_breakers'), 1, 'max_restart_failures = 1: the failed repair opened its breaker');
    assert.equal(value(text, 'smgr_queue_depth{state="waiting"}'), 0);
    assert.ok(value(text, 'process_resident_memory_bytes')! > 0, 'Node process metrics are included');
  });
});
