import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@smgr/testing';
import type { AgentEvent, LogRuleConfig } from '@smgr/shared';
import { LogWatch } from './log-watch.js';
import { RuleMatcher } from './rule-matcher.js';

const log = silentLogger();

const rule = (file: string, over: Partial<LogRuleConfig> = {}): LogRuleConfig => ({
  name: 'errors',
  process: 'websvc',
  files: [file],
  pattern: 'ERROR [0-9]+',
  count: 3,
  windowMs: 60_000,
  onMatch: 'alarm',
  severity: 'critical',
  redact: [],
  maxLineBytes: 512,
  ...over,
});

async function setup(t: { after(fn: () => Promise<void>): void }, over: Partial<LogRuleConfig> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'smgr-logwatch-'));
  const file = join(dir, 'app.log');
  await writeFile(file, 'ERROR 1 old\nERROR 2 old\nERROR 3 old\n');
  const events: AgentEvent[] = [];
  let now = 1_000_000;
  const watch = new LogWatch({ rules: [rule(file, over)], publish: (e) => events.push(e), log, now: () => now });
  t.after(async () => {
    await watch.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await watch.pollAll();
  return { dir, file, events, watch, tick: (ms: number) => (now += ms) };
}

test('lines already in the file are not news; the count-th matching line within the window triggers once', async (t) => {
  const { file, events, watch } = await setup(t);
  await appendFile(file, 'ERROR 10 a\ninfo fine\nERROR 11 b\n');
  await watch.pollAll();
  assert.equal(events.length, 0);
  await appendFile(file, 'ERROR 12 c\n');
  await watch.pollAll();
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.equal(e.kind, 'watch_failed');
  assert.equal(e.service, 'websvc');
  assert.equal(e.severity, 'critical');
  assert.equal(e.rule, 'errors');
  assert.equal(e.failures, 3);
  assert.match(e.message, /^log rule errors: 3 line\(s\) matching in 60 s in .*app\.log: ERROR 12 c$/);
  // Counting starts afresh after a trigger.
  await appendFile(file, 'ERROR 13\nERROR 14\n');
  await watch.pollAll();
  assert.equal(events.length, 1);
});

test('matches further apart than the window do not add up', async (t) => {
  const { file, events, watch, tick } = await setup(t, { count: 2, windowMs: 10_000 });
  await appendFile(file, 'ERROR 1\n');
  await watch.pollAll();
  tick(10_001);
  await appendFile(file, 'ERROR 2\n');
  await watch.pollAll();
  assert.equal(events.length, 0);
  tick(9_000);
  await appendFile(file, 'ERROR 3\n');
  await watch.pollAll();
  assert.equal(events.length, 1);
});

test('a rotation by rename: the rest of the old file is read, then the new one from its start', async (t) => {
  const { file, events, watch } = await setup(t);
  await appendFile(file, 'ERROR 1\n');
  await watch.pollAll();
  // Written to the old file after the last poll, then the file is rotated away.
  await appendFile(file, 'ERROR 2\n');
  await rename(file, `${file}.1`);
  await watch.pollAll();
  await writeFile(file, 'ERROR 3 after rotation\n');
  await watch.pollAll();
  assert.equal(events.length, 1);
  assert.match(events[0]!.message, /ERROR 3 after rotation$/);
  assert.equal(watch.stats()[file]!.rotations, 1);
});

test('a truncation (copytruncate) is read again from the start', async (t) => {
  const { file, events, watch } = await setup(t, { count: 1 });
  await truncate(file, 0);
  await appendFile(file, 'ERROR 7 after truncate\n');
  await watch.pollAll();
  assert.equal(events.length, 1);
  assert.equal(watch.stats()[file]!.truncations, 1);
});

test('a file that does not exist yet is waited for and read from its start; an event-only rule sends log_match', async (t) => {
  const { dir, events } = await setup(t);
  const later = join(dir, 'later.log');
  const watch = new LogWatch({ rules: [rule(later, { count: 1, onMatch: 'event', severity: 'info' })], publish: (e) => events.push(e), log });
  t.after(() => watch.stop());
  await watch.pollAll();
  await writeFile(later, 'ERROR 1 first line\n');
  await watch.pollAll();
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'log_match');
  assert.equal(events[0]!.severity, 'info');
});

test('reported lines are clipped to max_line and secrets in them are masked', () => {
  const m = new RuleMatcher(rule('/x', { count: 1, maxLineBytes: 80, redact: ['card=[0-9]+'] }));
  const t = m.feed('/x', 'ERROR 1 login failed password=hunter2 token: abc123 Authorization: Bearer eyJhbGciOi card=4111', 0);
  assert.ok(t);
  assert.doesNotMatch(t.line, /hunter2|abc123|eyJhbGciOi/);
  assert.match(t.line, /password=\*\*\* token: \*\*\*/);
  const long = m.feed('/x', `ERROR 2 ${'x'.repeat(500)}`, 0)!;
  assert.ok(Buffer.byteLength(long.line) <= 80 + 3, long.line);
  assert.match(long.line, /…$/);
  const ctl = m.feed('/x', 'ERROR 3 \u001b[31mred\u0007', 0)!;
  assert.equal(ctl.line, 'ERROR 3 \\u001b[31mred\\u0007');
});

test('a pattern that backtracks exponentially elsewhere is linear under RE2', () => {
  const m = new RuleMatcher(rule('/x', { count: 1, pattern: '^(a+)+$' }));
  // 2^40 paths for a backtracking engine; RE2 answers at once.
  assert.equal(m.feed('/x', `${'a'.repeat(40)}!`, 0), null);
  assert.ok(m.feed('/x', 'a'.repeat(40), 0));
});

test('a line longer than the follower keeps is cut, and memory does not grow with it', async (t) => {
  const { file, events, watch } = await setup(t, { count: 1 });
  await appendFile(file, `ERROR 1 ${'y'.repeat(200_000)}\n`);
  await watch.pollAll();
  assert.equal(events.length, 1);
  assert.equal(watch.stats()[file]!.longLines, 1);
});
