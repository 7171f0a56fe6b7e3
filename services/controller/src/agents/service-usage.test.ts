import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, ServiceUsageReportSchema, type MessageInitShape, type ServiceUsageSchema } from '@smgr/shared';
import { validateUsageReport, validateAgentEvent } from './validate-agent-input.js';
import { ServiceUsageStore } from '../usage/service-usage-store.js';
import { ControllerMetrics, METRICS_SERVICES_PER_HOST } from '../metrics/controller-metrics.js';

type UsageInit = MessageInitShape<typeof ServiceUsageSchema>;
const usage = (service: string, more: Partial<UsageInit> = {}): UsageInit => ({
  service,
  running: true,
  source: 'proc',
  mainPid: 10,
  rssBytes: 5_000_000n,
  cpuPercent: 1.5,
  threads: 3,
  openFiles: 8,
  processes: 1,
  uptimeMs: 60_000n,
  restarts: 0,
  sampledAtMs: 1_700_000_000_000n,
  ...more,
});
const report = (services: UsageInit[]) => create(ServiceUsageReportSchema, { sampledAtMs: 1_700_000_000_000n, services });

test('a plausible usage report is accepted', () => {
  assert.equal(validateUsageReport(report([usage('web'), usage('db', { cpuPercent: undefined, openFiles: undefined, running: false })])), null);
});

test('hostile usage reports are refused whole, with the reason', () => {
  const cases: [UsageInit[], RegExp][] = [
    [Array.from({ length: 1001 }, (_, i) => usage(`s${i}`)), /too many services \(1001 > 1000\)/],
    [[usage('web'), usage('web')], /"web" appears twice/],
    [[usage('we\u001b[2Jb')], /control characters/],
    [[usage('')], /service is empty/],
    [[usage('x'.repeat(300))], /longer than 255/],
    [[usage('web', { source: 'magic' })], /source of "web" must be proc or cgroup/],
    [[usage('web', { cpuPercent: Number.NaN })], /cpu_percent of "web"/],
    [[usage('web', { cpuPercent: -1 })], /cpu_percent of "web"/],
    [[usage('web', { rssBytes: 2n ** 60n })], /rss_bytes of "web" is implausible/],
    [[usage('web', { threads: 4_000_000_000 })], /threads of "web" is implausible/],
    [[usage('web', { uptimeMs: -5n })], /uptime_ms of "web" is out of range/],
  ];
  for (const [services, why] of cases) assert.match(validateUsageReport(report(services)) ?? 'accepted', why);
});

test('a resource event must name a known rule and action and carry finite values', () => {
  const base = { eventId: 'resource_exceeded-1', kind: 'resource_exceeded', service: 'web', atMs: 1n, message: 'm' };
  const ok = { rule: 'memory', value: 1e9, limit: 5e8, checks: 3, action: 'restart', mainPid: 1 };
  assert.equal(validateAgentEvent({ ...base, resource: ok } as never), null);
  assert.match(validateAgentEvent({ ...base, resource: { ...ok, rule: 'disk' } } as never) ?? '', /resource rule "disk"/);
  assert.match(validateAgentEvent({ ...base, resource: { ...ok, action: 'reboot' } } as never) ?? '', /resource action "reboot"/);
  assert.match(validateAgentEvent({ ...base, resource: { ...ok, value: Number.POSITIVE_INFINITY } } as never) ?? '', /finite/);
});

test('the store keeps the newest report per host; /metrics exports at most METRICS_SERVICES_PER_HOST services per host, stale hosts none', async () => {
  let now = 1_000_000;
  const store = new ServiceUsageStore(() => now);
  store.put('web1', report(Array.from({ length: 60 }, (_, i) => usage(`svc${i}`))));
  store.put('web2', report([usage('db', { running: false })]));
  store.put('web2', report([usage('db')]));
  assert.equal(store.get('web2')?.services.length, 1);
  assert.equal(store.get('web2')?.services[0]?.running, true, 'replaced whole');
  const metrics = new ControllerMetrics({ defaultMetrics: false });
  metrics.bind({
    connectedAgents: () => 2,
    isActive: () => true,
    queueCounts: async () => ({}),
    openBreakers: async () => 0,
    serviceUsage: (age) => store.all(age),
  });
  const text = await metrics.text();
  const series = (host: string) => text.split('\n').filter((l) => l.startsWith(`smgr_service_memory_bytes{host="${host}"`));
  assert.equal(series('web1').length, METRICS_SERVICES_PER_HOST);
  assert.deepEqual(series('web2'), ['smgr_service_memory_bytes{host="web2",service="db"} 5000000']);
  now += 10 * 60_000;
  store.put('web2', report([usage('db')]));
  const later = await metrics.text();
  assert.ok(!later.includes('host="web1"'), 'a report older than 5 minutes exports nothing');
  assert.ok(later.includes('host="web2"'));
});
