import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readIni } from './ini-reader.js';

const read = (text: string, verbatim: string[] = []) => readIni(text, { file: 'f.ini', verbatimKeys: new Set(verbatim) });
const values = (text: string, verbatim: string[] = []) => {
  const doc = read(text, verbatim);
  return Object.fromEntries([...doc.sections].map(([name, s]) => [name, Object.fromEntries([...s.entries].map(([k, e]) => [k, e.value]))]));
};

describe('readIni', () => {
  it('reads sections, keys and the line of each, with comments after headers and values', () => {
    const doc = read('; top\n[a]   ; about a\nx = 1 ; one\n\n# note\n[b.c.d] # dotted\ny = two words  # trailing\n[a]\nz = 3\n');
    assert.deepEqual(doc.problems, []);
    assert.deepEqual([...doc.sections.keys()], ['a', 'b.c.d']);
    assert.equal(doc.sections.get('a')?.line, 2);
    assert.deepEqual(doc.sections.get('a')?.entries.get('x'), { value: '1', line: 3 });
    assert.deepEqual(doc.sections.get('a')?.entries.get('z'), { value: '3', line: 9 });
    assert.deepEqual(doc.sections.get('b.c.d')?.entries.get('y'), { value: 'two words', line: 7 });
  });

  it('unquotes whole quoted values, keeps escaped ; and #, and refuses a glued ; or #', () => {
    assert.deepEqual(values(`[s]\na = "x;y" ; c\nb = 'p#q'\nc = x\\;y\\#z\nd =\ne = "tab\\tq"`), {
      s: { a: 'x;y', b: 'p#q', c: 'x;y#z', d: '', e: 'tab\tq' },
    });
    const doc = read('[s]\npassword = abc;def\nq = "open\nr = "x" y\n');
    assert.deepEqual(
      doc.problems.map((p) => [p.line, p.key, p.rule.slice(0, 30)]),
      [
        [2, 's.password', 'an unescaped ; or # starts a c'],
        [3, 's.q', 'has no closing "; quote the wh'],
        [4, 's.r', 'has text after its closing "; '],
      ],
    );
  });

  it('reads command keys verbatim except for a shell-style # comment, and key[] lines as a list', () => {
    assert.deepEqual(values("[p]\ncmd = sh -c 'a; b # x' # comment\ncmd2[] = one\ncmd2[] = two 'q'\n", ['cmd', 'cmd2']), {
      p: { cmd: "sh -c 'a; b # x'", cmd2: ['one', "two 'q'"] },
    });
  });

  it('reports a bad header once and skips its keys instead of calling them outside any section', () => {
    const doc = read('[database] junk\nhost = h\npassword = secret\n[ok]\nk = v\n');
    assert.deepEqual(
      doc.problems.map((p) => [p.line, p.key, p.rule]),
      [[1, '[database] junk', 'is not a section header: only a ; or # comment may follow the closing ]']],
    );
    assert.deepEqual(values('[database] junk\nhost = h\n[ok]\nk = v\n'), { ok: { k: 'v' } });
  });

  it('names keys outside any section, keys without a value or a key, and keys set twice, by line', () => {
    const doc = read('password = hunter2\n[s]\nflag\n= v\nk = 1\nk = 2\n[]\n');
    assert.deepEqual(
      doc.problems.map((p) => [p.line, p.key, p.value, p.rule.split(';')[0]]),
      [
        [1, 'password', undefined, 'is outside any section'],
        [3, 's.flag', undefined, 'has no value'],
        [4, '= v', undefined, 'has no key before the ='],
        [6, 's.k', undefined, 'is set twice in its section (first on line 5)'],
        [7, '[]', undefined, 'is an empty section name'],
      ],
    );
  });

  it('counts lines of CRLF files correctly', () => {
    const doc = read('[s]\r\n\r\na = 1\r\nb\r\n');
    assert.equal(doc.sections.get('s')?.entries.get('a')?.line, 3);
    assert.equal(doc.problems[0]?.line, 4);
  });
});
