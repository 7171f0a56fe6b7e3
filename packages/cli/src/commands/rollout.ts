import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from 'commander';
import { ExitCode, type RolloutSummaryView, type RolloutView } from '@smgr/shared';
import { withQuery } from '../api-client.js';
import type { CliCommand, CliContext } from '../context.js';
import { LiveArea } from '../format/live-area.js';
import { safeText } from '../format/sanitize.js';
import { FINAL, renderRollout, STOP_WATCHING } from './rollout-view.js';
import { selectorBody, withSelector } from './selectors.js';

const POLL_MS = 500;

const countOrPercent = (v: string): number | string => {
  if (/^\d+$/.test(v)) return Number(v);
  if (/^(100|[1-9]\d?)%$/.test(v)) return v;
  throw new InvalidArgumentError('must be a count or a percentage like 25%');
};
const seconds = (v: string): number => {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number of seconds');
  return n;
};
const count = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
};

interface StartOptions {
  host?: string[];
  label?: string[];
  batchSize?: number | string;
  canary?: number;
  autoPromote?: boolean;
  pauseBetween?: number;
  minHealthy?: number;
  healthyDeadline?: number;
  probeInterval?: number;
  maxFailures?: number | string;
  autoRollback?: boolean;
  jobTimeout?: number;
  wait?: boolean;
}

/** `smgr rollout start|list|status|promote|pause|resume|abort|rollback`. */
export function rolloutCommands(program: CliCommand): void {
  const rollout = program
    .command('rollout')
    .description('rolling updates: a service to a version on selected hosts, canary first, in batches, behind a health gate');

  withSelector(
    rollout
      .command('start')
      .description('start a rollout; on a terminal, show its progress live until it ends or waits for you')
      .argument('<service>')
      .argument('<version>'),
  )
    .option('-b, --batch-size <n|p%>', 'hosts updated at once after the canaries (default 1)', countOrPercent)
    .option('-c, --canary <n>', 'hosts updated first, alone (default 0)', count)
    .option('--auto-promote', 'continue after healthy canaries without `smgr rollout promote`')
    .option('--pause-between <seconds>', 'pause between batches', seconds)
    .option('--min-healthy <seconds>', 'a host must stay healthy this long after its update (default 10)', seconds)
    .option('--healthy-deadline <seconds>', '...within this long, or it fails (default 300)', seconds)
    .option('--probe-interval <seconds>', 'time between health probes (default 1)', seconds)
    .option('--max-failures <n|p%>', 'failed hosts tolerated before the rollout halts (default 0)', countOrPercent)
    .option('--auto-rollback', 'on halt, return updated hosts to their previous version')
    .option('--job-timeout <seconds>', 'longest wait for one host step', seconds)
    .option('-w, --wait', 'wait until the rollout ends or needs you, also without a terminal (exit 1 unless it succeeded)')
    .run(async (ctx, service: string, version: string, o: StartOptions) => {
      const body = {
        service,
        version,
        ...selectorBody(o),
        ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
        ...(o.canary !== undefined ? { canary: o.canary } : {}),
        ...(o.autoPromote ? { autoPromote: true } : {}),
        ...(o.pauseBetween !== undefined ? { pauseBetweenBatchesSeconds: o.pauseBetween } : {}),
        ...(o.minHealthy !== undefined ? { minHealthySeconds: o.minHealthy } : {}),
        ...(o.healthyDeadline !== undefined ? { healthyDeadlineSeconds: o.healthyDeadline } : {}),
        ...(o.probeInterval !== undefined ? { probeIntervalSeconds: o.probeInterval } : {}),
        ...(o.maxFailures !== undefined ? { maxFailures: o.maxFailures } : {}),
        ...(o.autoRollback ? { autoRollback: true } : {}),
        ...(o.jobTimeout !== undefined ? { jobTimeoutSeconds: o.jobTimeout } : {}),
      };
      const created = await ctx.client().post<RolloutView>('/v1/rollouts', body);
      if (ctx.interactive || o.wait) {
        await follow(ctx, created.id, created);
      } else {
        ctx.print(created, (r) => `${renderRollout(r, ctx.paint)}follow it: smgr rollout status ${r.id} --watch\n`);
      }
    });

  rollout
    .command('status')
    .description("one rollout with each host's progress")
    .argument('<id>', 'rollout id', count)
    .option('-w, --watch', 'keep showing it until it ends or needs you (exit 1 unless it succeeded)')
    .run(async (ctx, id: number, o: { watch?: boolean }) => {
      const view = await ctx.client().get<RolloutView>(`/v1/rollouts/${id}`);
      if (o.watch) await follow(ctx, id, view);
      else ctx.print(view, (v) => renderRollout(v, ctx.paint));
    });

  rollout
    .command('list')
    .description('rollouts, newest first')
    .option('-s, --service <name>', 'of this service only')
    .option('--active', 'only active ones')
    .option('-n, --limit <n>', 'at most this many (default 50)', count)
    .run((ctx, o: { service?: string; active?: boolean; limit?: number }) => {
      return ctx.printList(
        withQuery('/v1/rollouts', { service: o.service, active: o.active, limit: o.limit }),
        'rollouts',
        ['ID', 'SERVICE', 'VERSION', 'STATE', 'HOSTS', 'BY', 'CREATED'],
        (r: RolloutSummaryView) => [
          r.id,
          r.service,
          r.version,
          ctx.paint.state(r.state),
          `${r.hostCounts.healthy ?? 0}/${r.hostTotal} healthy`,
          r.createdBy,
          r.createdAt,
        ],
      );
    });

  const commands: [string, string][] = [
    ['promote', 'continue after the canaries'],
    ['pause', 'start no new host (hosts in flight finish their step)'],
    ['resume', 'resume a paused rollout'],
    ['abort', 'stop: hosts not started are skipped; nothing is rolled back'],
    ['rollback', 'return every updated host to its previous version (no canary phase)'],
  ];
  for (const [name, description] of commands) {
    rollout
      .command(name)
      .description(description)
      .argument('<id>', 'rollout id', count)
      .option('-w, --watch', 'then show progress until it ends or needs you')
      .run(async (ctx, id: number, o: { watch?: boolean }) => {
        const view = await ctx.client().post<RolloutView>(`/v1/rollouts/${id}/${name}`);
        if (o.watch) await follow(ctx, id, view);
        else ctx.print(view, (v) => renderRollout(v, ctx.paint));
      });
  }
}

/**
 * Shows a rollout until it is final or waits for an operator: redrawn in
 * place on a terminal, once at the end otherwise. Exit 0 when it succeeded
 * or waits for the operator (awaiting_promotion, paused); 1 when it halted,
 * was aborted or rolled back.
 */
async function follow(ctx: CliContext, id: number, first: RolloutView): Promise<void> {
  const client = ctx.client();
  let view = first;
  const live = new LiveArea(ctx.io.stdout);
  // Agent and database strings made inert; only our own colours survive (format/sanitize.ts).
  const draw = () => live.draw(safeText(renderRollout(view, ctx.paint)));
  if (ctx.interactive) draw();
  while (!STOP_WATCHING.has(view.state)) {
    await sleep(POLL_MS);
    view = await client.get<RolloutView>(`/v1/rollouts/${id}`);
    if (ctx.interactive) draw();
  }
  if (!ctx.interactive) ctx.print(view, (v) => renderRollout(v, ctx.paint));
  if (view.state === 'halted' || (FINAL.has(view.state) && view.state !== 'succeeded')) process.exitCode = ExitCode.FAILURE;
}
