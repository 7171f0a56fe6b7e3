import { test } from 'node:test';
import assert from 'node:assert/strict';
import { whereClause } from './where-clause.js';

test('a where clause ANDs the filters that are set, in order, with their values, then the argument-free conditions', () => {
  assert.deepEqual(
    whereClause(
      [
        ['a = ?', 1],
        ['b = ?', undefined],
        ['c >= ?', 'x'],
      ],
      ['d IS NOT NULL'],
    ),
    {
      sql: 'WHERE a = ? AND c >= ? AND d IS NOT NULL',
      args: [1, 'x'],
    },
  );
});

test('a where clause is empty when no filter is set, and a null value still filters', () => {
  assert.deepEqual(whereClause([['a = ?', undefined]]), { sql: '', args: [] });
  assert.deepEqual(whereClause([['a = ?', null]]), { sql: 'WHERE a = ?', args: [null] });
});
