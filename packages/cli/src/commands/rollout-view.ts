import type { RolloutView } from '@smgr/shared';
import { table } from '../format/table.js';
import { PLAIN, type Paint } from '../format/colors.js';
import { renderFailure } from '../format/failure.js';

/** States a live display stops at: final, or waiting for an operator. */
export const STOP_WATCHING = new Set(['succeeded', 'aborted', 'rolled_back', 'rollback_failed', 'halted', 'awaiting_promotion', 'paused']);
export const FINAL = new Set(['succeeded', 'aborted', 'rolled_back', 'rollback_failed']);

/** Batches as people count them, from 1 (the API counts from 0); the canaries are batch 1 when there are any. */
export function batchLabel(batch: number, canary: number): string {
  return canary > 0 && batch === 0 ? '1 (canary)' : String(batch + 1);
}

/** The rollout with one line per host, and under each failed host the step that failed with its exit code and output. */
export function renderRollout(r: RolloutView, c: Paint = PLAIN): string {
  const healthy = r.hostCounts.healthy ?? 0;
  const failed = (r.hostCounts.failed ?? 0) + (r.hostCounts.rollback_failed ?? 0);
  const batch = FINAL.has(r.state) ? '' : `  batch ${r.currentBatch + 1} of ${r.batches}`;
  const failedText = `${failed} failed`;
  const head = `rollout ${r.id}: ${r.service} -> ${r.version}  ${c.state(r.state.toUpperCase())}${batch}  (${healthy}/${r.hosts.length} healthy, ${failed > 0 ? c.red(failedText) : failedText})\n`;
  const spec =
    `  by ${r.createdBy} at ${r.createdAt}; canary ${r.spec.canary}${r.spec.canary > 0 ? (r.spec.autoPromote ? ' (auto-promote)' : ' (manual promote)') : ''}, ` +
    `batch size ${r.spec.batchSize}, max failures ${r.spec.maxFailures}, auto-rollback ${r.spec.autoRollback ? 'on' : 'off'}, ` +
    `healthy ${r.spec.minHealthySeconds} s within ${r.spec.healthyDeadlineSeconds} s\n`;
  const rows = table(
    ['HOST', 'BATCH', 'STATE', 'FROM', 'NOW', 'MESSAGE'],
    r.hosts.map((h) => [h.hostId, batchLabel(h.batch, r.spec.canary), c.state(h.state), h.previousVersion ?? '-', h.currentVersion ?? '-', h.message]),
  ).split('\n');
  // Row i + 1 is host i (row 0 is the header): its failure goes right under it.
  const body = rows
    .map((line, i) => {
      const h = i > 0 ? r.hosts[i - 1] : undefined;
      return h?.failure ? `${line}\n${renderFailure(h.failure, c).replace(/\n$/, '')}` : line;
    })
    .join('\n');
  return `${head}${spec}${body}${r.message ? `${r.message}\n` : ''}${hint(r)}`;
}

function hint(r: RolloutView): string {
  if (r.state === 'awaiting_promotion') return `next: smgr rollout promote ${r.id}   (or abort / rollback)\n`;
  if (r.state === 'halted') return `next: smgr rollout rollback ${r.id}   or   smgr rollout abort ${r.id}\n`;
  if (r.state === 'paused') return `next: smgr rollout resume ${r.id}\n`;
  return '';
}
