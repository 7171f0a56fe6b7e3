import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNote, NOTES_MAX_CHARS } from './notes.js';

const at = new Date('2026-11-22T02:10:03.456Z');

test('a note starts with a UTC timestamp and keeps a short message whole', () => {
  assert.equal(formatNote(at, 'restarted on web1'), '2026-11-22 02:10:03Z restarted on web1');
});

test('a long note is cut to 100 characters with an ellipsis', () => {
  const note = formatNote(at, 'x'.repeat(500));
  assert.equal(Array.from(note).length, NOTES_MAX_CHARS);
  assert.ok(note.endsWith('…'));
});

test('cutting never splits a character made of a surrogate pair', () => {
  const note = formatNote(at, '😀'.repeat(200));
  assert.equal(Array.from(note).length, NOTES_MAX_CHARS);
  assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(note));
});

test('newlines and control characters from agent output do not reach the note', () => {
  assert.equal(formatNote(at, 'a\nb\u0007c'), '2026-11-22 02:10:03Z a b?c');
});
