#!/usr/bin/env node
// One owner per table, run by `npm run lint`: every statement that writes a
// table (INSERT, UPDATE, DELETE, REPLACE) is in that table's owner module, the
// file OWNERS names (docs/architecture.md, "Table owners"). Others call the
// owner's functions, passing their transaction's connection where needed.
//
//   node scripts/check-table-owners.mjs            services/controller/src
//   node scripts/check-table-owners.mjs DIR        another tree (the lint test plants a stray write)
//
// Tests and migrations are not checked (they set up and change schemas).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Table -> its owner, relative to the controller's src/. */
export const OWNERS = {
  PROCESE: 'alarms/alarm-store.ts',
  STATUS_PROCESS: 'alarms/alarm-store.ts',
  smgr_events: 'history/event-store.ts',
  smgr_incidents: 'repair/incident-store.ts',
  smgr_breakers: 'repair/outcome-store.ts',
  smgr_placement: 'repair/placement-store.ts',
  smgr_agents: 'agents/agent-store.ts',
  smgr_agent_events: 'agents/agent-event-handler.ts',
  smgr_host_claims: 'agents/claim-store.ts',
  smgr_api_tokens: 'api/auth/token-store.ts',
  smgr_audit: 'api/audit/audit-log.ts',
  smgr_leases: 'ha/leader-lease.ts',
  smgr_operations: 'operations/operation-store.ts',
  smgr_operation_hosts: 'operations/operation-store.ts',
  smgr_rollouts: 'rollouts/rollout-store.ts',
  smgr_rollout_hosts: 'rollouts/rollout-store.ts',
  smgr_rollout_failures: 'rollouts/rollout-store.ts',
  smgr_rollout_commands: 'rollouts/rollout-commands.ts',
  smgr_fleet_secrets: 'fleet/fleet-secret.ts',
  smgr_console_sessions: 'api/console/session-store.ts',
  smgr_notify_alerts: 'notify/alert-store.ts',
  smgr_notify_cursor: 'notify/alert-store.ts',
  smgr_schema_migrations: 'db/migrator.ts',
};

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = resolve(root, process.argv[2] ?? 'services/controller/src');
const WRITE = /\b(?:INSERT\s+(?:IGNORE\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+`?([A-Za-z_][A-Za-z0-9_]*)`?/g;
const tables = new Set(Object.keys(OWNERS));

function* tsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'migrations' && e.name !== 'node_modules' && e.name !== 'dist') yield* tsFiles(p);
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

const problems = [];
let writes = 0;
for (const file of tsFiles(src)) {
  const rel = relative(src, file).split(sep).join('/');
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may name statements
    for (const m of line.matchAll(WRITE)) {
      const table = m[1];
      if (!tables.has(table)) continue;
      writes++;
      if (OWNERS[table] !== rel) problems.push(`${relative(root, file)}:${i + 1}: writes ${table}, owned by ${OWNERS[table]}: call the owner instead`);
    }
  });
}
if (problems.length > 0) {
  console.error(`table writes outside their owner (${problems.length}):\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`one owner per table: ${writes} writes to ${tables.size} tables, each in its owner (${relative(root, src) || '.'})`);
