import { Option } from 'commander';
import { ExitCode, writeSecretFile, type AuditRecordView, type CreatedTokenView, type TokenRevokeView, type TokenView } from '@smgr/shared';
import { CliError } from '../cli-error.js';
import type { CliCommand } from '../context.js';
import { withQuery } from '../api-client.js';

/** `smgr token create|list|revoke` (admin token) and `smgr audit`. */
export function tokenCommands(program: CliCommand): void {
  const token = program
    .command('token')
    .description('API tokens (needs an admin token). The first admin token: smgr-controller --config FILE token create NAME --role admin');

  token
    .command('create')
    .description('create a token; its secret is printed once, on stdout, or written to --output FILE (mode 0600)')
    .argument('<name>', 'shown in the audit trail: letters, digits, . _ @ -')
    .addOption(new Option('-r, --role <role>', 'what it may do').choices(['viewer', 'operator', 'admin']).makeOptionMandatory())
    .option('--expires-days <n>', "valid for this many days (default: the controller's api.token_ttl_days)")
    .option('-o, --output <file>', 'write the secret to FILE, readable by you only (0600), instead of stdout')
    .run(async (ctx, name: string, o: { role: string; expiresDays?: string; output?: string }) => {
      const body = { name, role: o.role, ...(o.expiresDays !== undefined ? { expiresInDays: Number(o.expiresDays) } : {}) };
      const created = await ctx.client().post<CreatedTokenView>('/v1/tokens', body);
      if (o.output !== undefined) {
        try {
          await writeSecretFile(o.output, `${created.token}\n`);
        } catch (err) {
          throw new CliError(
            ExitCode.FAILURE,
            `token ${created.name} was created but its secret could not be written to ${o.output}: ${(err as Error).message}`,
            `revoke it (smgr token revoke ${created.name}) and create it again with a writable --output`,
          );
        }
        ctx.err(
          `token ${created.name} (${created.role}) created${created.expiresAt ? `, expires ${created.expiresAt}` : ''}; secret written to ${o.output} (mode 0600)\n`,
        );
        return;
      }
      if (ctx.json) {
        ctx.out(`${JSON.stringify(created, null, 2)}\n`);
        return;
      }
      ctx.err(
        `token ${created.name} (${created.role}) created${created.expiresAt ? `, expires ${created.expiresAt}` : ''}; the secret below is shown only once:\n`,
      );
      ctx.out(`${created.token}\n`);
    });

  token
    .command('list')
    .description('tokens: names, roles, dates (never secrets)')
    .run((ctx) =>
      ctx.printList('/v1/tokens', 'tokens', ['NAME', 'ROLE', 'STATE', 'CREATED', 'BY', 'EXPIRES', 'LAST USED'], (t: TokenView) => [
        t.name,
        t.role,
        t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active',
        t.createdAt,
        t.createdBy,
        t.expiresAt ?? 'never',
        t.lastUsedAt ?? '-',
      ]),
    );

  token
    .command('revoke')
    .description('revoke a token; it stops working at once')
    .argument('<name>')
    .run(async (ctx, name: string) => {
      const r = await ctx.client().delete<TokenRevokeView>(`/v1/tokens/${encodeURIComponent(name)}`);
      ctx.print(r, (b) => `token ${b.name} revoked at ${b.revokedAt}\n`);
    });

  program
    .command('audit')
    .description('who changed what through the API, newest first (needs an admin token)')
    .option('-n, --limit <n>', 'at most this many (default 100)')
    .option('-t, --token <name>', 'by this token only')
    .option('-a, --action <action>', 'e.g. rollout.start, alarm.raise')
    .run((ctx, o: { limit?: string; token?: string; action?: string }) =>
      ctx.printList(
        withQuery('/v1/audit', { limit: o.limit, token: o.token, action: o.action }),
        'audit',
        ['AT', 'TOKEN', 'ACTION', 'TARGET', 'OUTCOME', 'HTTP'],
        (a: AuditRecordView) => [a.at, a.tokenName ?? '(none)', a.action, a.target, a.outcome, a.statusCode],
      ),
    );
}
