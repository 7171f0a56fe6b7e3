import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceRules } from '@smgr/shared';
import { ResourceRuleBook } from './resource-rules.js';
import type { UsageSample } from './resource-sampler.js';

const MiB = 1024 * 1024;
const rules = (over: Partial<ResourceRules> = {}): ResourceRules => ({
  maxMemoryBytes: 200 * MiB,
  maxCpuPercent: 0,
  maxOpenFiles: 0,
  maxChildren: 0,
  checks: 3,
  action: 'restart',
  clearChecks: 2,
  clearMarginPercent: 10,
  ...over,
});
const sample = (rssMiB: number, over: Partial<UsageSample> = {}): UsageSample => ({
  service: 'svc',
  running: true,
  source: 'proc',
  mainPid: 100,
  rssBytes: rssMiB * MiB,
  cpuPercent: 1,
  threads: 1,
  openFiles: 4,
  processes: 1,
  uptimeMs: 1000,
  restarts: 0,
  sampledAtMs: 0,
  ...over,
});
const kinds = (book: ResourceRuleBook, r: ResourceRules, values: number[], over: Partial<UsageSample> = {}) =>
  values.map(
    (v) =>
      book
        .evaluate(r, sample(v, over))
        .map((x) => x.kind)
        .join(',') || '-',
  );

test('a value above the limit for `checks` samples in a row is exceeded once, and stays so while it stays high', () => {
  const book = new ResourceRuleBook();
  assert.deepEqual(kinds(book, rules(), [150, 250, 250, 250, 260, 300, 300]), ['-', 'over', 'over', 'exceeded', '-', '-', '-']);
});

test('a spike shorter than `checks` resets the count and never acts', () => {
  const book = new ResourceRuleBook();
  assert.deepEqual(kinds(book, rules(), [250, 250, 199, 250, 250, 200, 250]), ['over', 'over', 'reset', 'over', 'over', 'reset', 'over']);
});

test('an exceeded rule clears only after clear_checks samples below the limit less the margin (no flapping at the edge)', () => {
  const book = new ResourceRuleBook();
  kinds(book, rules(), [250, 250, 250]);
  // 190 MiB is below 200 but not below 200 × 0.9 = 180: it does not count; 179 does, twice in a row.
  assert.deepEqual(kinds(book, rules(), [190, 199, 179, 185, 179, 170]), ['-', '-', '-', '-', '-', 'cleared']);
  assert.equal(book.isExceeded('svc', 'memory'), false);
  // Cleared: a new spell can act again.
  assert.deepEqual(kinds(book, rules(), [250, 250, 250]), ['over', 'over', 'exceeded']);
});

test('a new main process or a stopped service starts the count again', () => {
  const book = new ResourceRuleBook();
  kinds(book, rules(), [250, 250]);
  assert.deepEqual(kinds(book, rules(), [250], { mainPid: 101 }), ['over']);
  assert.equal(book.overCount('svc', 'memory'), 1);
  kinds(book, rules(), [250], { mainPid: 101 });
  book.evaluate(rules(), sample(0, { running: false, mainPid: 0 }));
  assert.equal(book.overCount('svc', 'memory'), 0);
});

test('cpu, open files and children are rules of their own; an unknown value (first CPU sample) changes nothing', () => {
  const book = new ResourceRuleBook();
  const r = rules({ maxMemoryBytes: 0, maxCpuPercent: 90, maxOpenFiles: 10, maxChildren: 2, checks: 1 });
  const v = book.evaluate(r, sample(1, { cpuPercent: 95, openFiles: 11, processes: 4 }));
  assert.deepEqual(
    v.map((x) => [x.kind, x.rule, x.value]),
    [
      ['exceeded', 'cpu', 95],
      ['exceeded', 'open_files', 11],
      ['exceeded', 'children', 3],
    ],
  );
  const book2 = new ResourceRuleBook();
  assert.deepEqual(book2.evaluate(r, sample(1, { cpuPercent: undefined, openFiles: undefined, processes: 1 })), []);
});
