import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, parsePercent, parseSize } from './resource-units.js';
import { loadConfig } from './load-config.js';

test('sizes need a 1024-based unit; anything else is refused', () => {
  assert.equal(parseSize('200M'), 200 * 1024 ** 2);
  assert.equal(parseSize('200 MB'), 200 * 1024 ** 2);
  assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('512KiB'), 512 * 1024);
  assert.equal(parseSize('1t'), 1024 ** 4);
  for (const bad of ['200', '200 MBs', '-1M', '0M', 'M', '1.5.5G', '200X', '']) assert.equal(parseSize(bad), undefined, bad);
});

test('CPU limits are percentages of one CPU', () => {
  assert.equal(parsePercent('90%'), 90);
  assert.equal(parsePercent('250 %'), 250);
  for (const bad of ['90', '0.9', '0%', '-5%', '90%%', '1000001%']) assert.equal(parsePercent(bad), undefined, bad);
});

test('formatBytes reads as an operator would write it', () => {
  assert.equal(formatBytes(200 * 1024 ** 2), '200 MiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(12), '12 B');
});

test('resource rules reach ProcessConfig in bytes and percent, layered over [process.default]', () => {
  const cfg = loadConfig({
    overrides: [
      'tls.insecure=true',
      'process.default.resource_checks=4',
      'process.default.max_cpu=90%',
      'process.web.max_memory=1.5G',
      'process.web.resource_action=restart',
      'process.db.max_open_files=1000',
    ],
  });
  const web = cfg.processes.find((p) => p.name === 'web')!;
  assert.deepEqual(web.resources, {
    maxMemoryBytes: 1.5 * 1024 ** 3,
    maxCpuPercent: 90,
    maxOpenFiles: 0,
    maxChildren: 0,
    checks: 4,
    action: 'restart',
    clearChecks: 3,
    clearMarginPercent: 10,
  });
  const db = cfg.processes.find((p) => p.name === 'db')!;
  assert.equal(db.resources.maxMemoryBytes, 0);
  assert.equal(db.resources.maxOpenFiles, 1000);
  assert.equal(db.resources.action, 'alarm');
  assert.equal(cfg.agent.serviceUsage, true);
});
