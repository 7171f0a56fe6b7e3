import type { ClaimChangeView, HostForgetView, HostUsageView, HostView } from '@smgr/shared';
import { withQuery } from '../api-client.js';
import type { CliCommand } from '../context.js';
import { ago, labels, table } from '../format/table.js';
import { collectLabel } from './selectors.js';
import { USAGE_HEADER, usageCells } from '../format/usage.js';

/** A host's declared services, each not-yet-approved one marked with its claim state. */
function servicesCell(h: HostView): string {
  const state = new Map(h.claims.map((c) => [c.service, c.state]));
  return h.services.map((s) => (state.get(s) === 'approved' || !state.has(s) ? s : `${s}(${state.get(s)})`)).join(',');
}

/** `smgr hosts`: the agents the controller knows; `smgr hosts approve|reject|forget`: their service claims. */
export function hostsCommand(program: CliCommand): void {
  const hosts = program
    .command('hosts')
    .description('list hosts (agents): connection, labels, services (a claim not approved yet is marked, e.g. nginx(pending))')
    .option('-s, --service <name>', 'only hosts managing this service (approved claims)')
    .option('-l, --label <key=value>', 'only hosts with this label; repeatable', collectLabel)
    .option('-p, --pending', 'only hosts with claims waiting for approval, and those claims with their reason')
    .option(
      '--services',
      'one line per service of each host with what it costs: state, main pid, memory, CPU, threads, open files, processes, uptime, restarts',
    )
    .run(async (ctx, o: { service?: string; label?: string[]; pending?: boolean; services?: boolean }) => {
      const body = await ctx.client().get<{ hosts: HostView[] }>(withQuery('/v1/hosts', { service: o.service, label: o.label }));
      if (o.pending) {
        const waiting = body.hosts.flatMap((h) => h.claims.filter((c) => c.state === 'pending' && c.declared).map((c) => ({ hostId: h.hostId, ...c })));
        ctx.print({ claims: waiting }, (b) =>
          table(
            ['HOST', 'SERVICE', 'STATE', 'WHY'],
            b.claims.map((c) => [c.hostId, c.service, c.state, c.reason]),
          ),
        );
        return;
      }
      if (o.services) {
        const usage = await ctx.client().get<{ hosts: HostUsageView[] }>(withQuery('/v1/usage', { service: o.service }));
        const byHost = new Map(usage.hosts.map((h) => [h.hostId, h]));
        const rows = body.hosts.map((h) => {
          const u = byHost.get(h.hostId);
          const byService = new Map((u?.services ?? []).map((s) => [s.service, s]));
          const names = o.service ? h.services.filter((s) => s === o.service) : h.services;
          return {
            hostId: h.hostId,
            connected: h.connected,
            receivedAt: u?.receivedAt ?? null,
            services: names.map((s) => ({ service: s, usage: byService.get(s) ?? null })),
          };
        });
        ctx.print({ hosts: rows }, (b) =>
          table(
            ['HOST', 'SERVICE', ...USAGE_HEADER],
            b.hosts.flatMap((h) =>
              h.services.map((s) => [h.hostId, s.service, ...usageCells(h.connected ? (s.usage ?? undefined) : undefined, (w) => ctx.paint.state(w))]),
            ),
          ),
        );
        return;
      }
      ctx.print(body, (b) =>
        table(
          ['HOST', 'STATE', 'LAST SEEN', 'AGENT', 'LABELS', 'SERVICES'],
          b.hosts.map((h) => [
            h.hostId,
            ctx.paint.state(h.connected ? 'connected' : 'down'),
            h.connected ? 'now' : ago(h.lastSeen),
            h.agentVersion,
            labels(h.labels),
            servicesCell(h),
          ]),
        ),
      );
    });

  for (const action of ['approve', 'reject'] as const) {
    hosts
      .command(action)
      .description(
        action === 'approve'
          ? "approve a host's service claims (default: every pending one); it then repairs and raises alarms for rows placed by plain name"
          : "reject a host's service claims (default: all of them); they place nothing, get no repairs and raise no alarms",
      )
      .argument('<host>', 'host id')
      .option('-s, --service <name>', 'only this claim')
      .run(async (ctx, host: string) => {
        // `hosts` has its own --service (a filter); commander hands the flag to whichever command it finds first.
        const o = ctx.opts as { service?: string };
        const r = await ctx
          .client()
          .post<ClaimChangeView>(`/v1/hosts/${encodeURIComponent(host)}/${action}`, o.service === undefined ? {} : { service: o.service });
        ctx.print(r, (b) => {
          const head = b.services.length === 0 ? `${b.hostId}: no claim to ${action}\n` : `${b.hostId}: ${b.state} ${b.services.join(', ')}\n`;
          const warn =
            b.nowAmbiguous.length > 0
              ? `note: ${b.nowAmbiguous.join(', ')} now on several hosts; rows by that plain name are ambiguous until one host is placed (name@host or smgr_placement)\n`
              : '';
          return head + warn;
        });
      });
  }

  hosts
    .command('forget')
    .description('forget a decommissioned host: its claims and agent record are deleted (stop its agent first; revoke its certificate too)')
    .argument('<host>', 'host id')
    .run(async (ctx, host: string) => {
      const r = await ctx.client().delete<HostForgetView>(`/v1/hosts/${encodeURIComponent(host)}`);
      ctx.print(r, (b) => `${b.hostId} forgotten (${b.claims} claim${b.claims === 1 ? '' : 's'} deleted)\n`);
    });
}
