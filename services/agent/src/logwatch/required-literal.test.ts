import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { requiredLiteral } from './required-literal.js';
import { RuleMatcher } from './rule-matcher.js';

test('the literal every match must contain, or none when unsure', () => {
  const cases: [string, string | null][] = [
    ['ERROR .*upstream timed out after [0-9]+ ms', 'upstream timed out after '],
    ['ERROR [0-9]+', 'ERROR '],
    ['colou?r failure', 'r failure'],
    ['abcd*efg', 'abc'],
    ['abcd+efg', 'abcd'],
    ['x{2,3}yyyzz', 'yyyzz'],
    ['OOM\\.killer\\b', 'OOM.killer'],
    ['(timeout|refused) talking to db', null],
    ['(?i)panic', null],
    ['(panic: [a-z]+) in goroutine', ' in goroutine'],
    ['\\x41BCDEF', null],
    ['[[:alpha:]]+ failed hard', null],
    ['a.b.c', null],
    ['\\d+ ms', ' ms'],
    ['fatal[:!] disk ', ' disk '],
  ];
  for (const [p, want] of cases) assert.equal(requiredLiteral(p), want, p);
});

test('skipping lines without the literal never changes what RE2 finds', () => {
  const patterns: [string, string][] = [
    ['ERROR .*upstream timed out after [0-9]+ ms', 'x ERROR GET /a upstream timed out after 3000 ms y'],
    ['colou?r fail(ure)?', 'color fail'],
    ['abcd*efg', 'abcdddefg'],
    ['ab+cde', 'abbbcde'],
    ['x{2,3}yyy', 'xxxyyy'],
    ['fatal[:!] disk', 'fatal! disk'],
    ['né+e café', 'nééée café'],
    ['^start here$', 'start here'],
    ['[0-9]+ errors? in (db|cache) layer', '12 error in cache layer'],
  ];
  const alphabet = [
    'a',
    'b',
    'c',
    'd',
    'e',
    'f',
    'g',
    'x',
    'y',
    ' ',
    '1',
    ':',
    '!',
    'é',
    'n',
    'o',
    'u',
    'r',
    'l',
    'ERROR ',
    'upstream timed out after ',
    'fatal',
    ' disk',
    'café',
    'start here',
    '3000 ms',
    ' errors in db layer',
    'colour fail',
  ];
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (const [p, sample] of patterns) {
    const re = RE2JS.compile(p);
    const m = new RuleMatcher({
      name: 'r',
      process: 'p',
      files: [],
      pattern: p,
      count: 1,
      windowMs: 1000,
      onMatch: 'event',
      severity: 'warning',
      redact: [],
      maxLineBytes: 512,
    });
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const len = rnd(12);
      for (let j = 0; j < len; j++) s += alphabet[rnd(alphabet.length)];
      lines.push(i % 100 === 0 ? sample : s);
    }
    // Matching lines are embedded in one buffer, the way the follower hands them over.
    const buf = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    let start = 0;
    let hits = 0;
    for (const line of lines) {
      const end = start + Buffer.byteLength(line);
      const truth = re.test(line);
      if (truth) hits += 1;
      if (truth) assert.ok(m.mayMatch(buf, start, end, 1), `${p}: "${line}" matches but was skipped`);
      start = end + 1;
    }
    assert.ok(hits >= 30, `${p}: the samples match (${hits})`);
  }
});
