import { test } from 'node:test';
import assert from 'node:assert/strict';
import { treeMembers } from './kill-tree.js';

const p = (pid: number, ppid: number, pgid: number, sid: number) => ({ pid, ppid, pgid, sid });

test('the tree of a command holds its session, its group and all descendants by parent', () => {
  const procs = [
    p(100, 50, 100, 100), // the command, session leader
    p(101, 100, 100, 100), // child
    p(102, 1, 100, 100), // grandchild reparented to init, still in the session
    p(103, 101, 103, 103), // grandchild that called setsid() while its parent lives
    p(104, 103, 103, 103), // and its child
    p(200, 50, 200, 200), // unrelated
  ];
  assert.deepEqual(treeMembers(procs, 100), [100, 101, 102, 103, 104]);
});

test('the agent itself and init are never part of a tree', () => {
  const procs = [p(100, process.pid, 100, 100), p(process.pid, 1, 100, 100), p(1, 0, 1, 1)];
  assert.deepEqual(treeMembers(procs, 100), [100]);
});
