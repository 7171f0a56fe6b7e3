import { Command, CommanderError, Option } from 'commander';
import { ConfigError, ExitCode, SmgrError, createLogger, loadConfig, writeSecretFile, type SmgrConfig } from '@smgr/shared';
import { createDbPool } from '../../db/pool.js';
import { migrate } from '../../db/migrator.js';
import { AuditLog } from '../audit/audit-log.js';
import { ROLES, isRole, type Role } from './roles.js';
import { TokenStore } from './token-store.js';

/** Daemon options that take a value, so their value is not mistaken for the subcommand. */
const VALUE_OPTIONS = new Set(['-c', '--config', '-s', '--set']);

/**
 * Whether `smgr-controller ...` was asked for the `token` subcommand (the
 * first argument that is neither an option nor an option's value).
 */
export function isTokenCommand(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_OPTIONS.has(a)) {
      i += 1;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a === 'token';
  }
  return false;
}

export interface TokenAdminIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const defaultIo: TokenAdminIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/**
 * `smgr-controller --config FILE token create|list|revoke`: API token
 * management straight in the database, for the first admin token (the API
 * needs one to do anything) and for recovery. Changes are audited with
 * token name "local:<user>". Resolves with the exit code.
 */
export async function runTokenAdmin(argv: readonly string[], io: TokenAdminIo = defaultIo): Promise<number> {
  const program = new Command('smgr-controller')
    .addOption(new Option('-c, --config <file>', 'controller config file').env('SMGR_CONFIG'))
    .option('-s, --set <section.key=value>', 'override one setting; repeatable', collect, [])
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  const token = program
    .command('token')
    .description('manage HTTP API tokens directly in the database (bootstrap the first admin token)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  let action: (cfg: SmgrConfig) => Promise<void> = async () => undefined;
  const actor = `local:${process.env.USER ?? process.env.LOGNAME ?? 'unknown'}`;
  /** The audit row of a change made here: by the local user as admin, and which subcommand made it. */
  const recordChange = (audit: AuditLog, verb: 'create' | 'revoke', name: string, detail: Record<string, unknown> = {}) =>
    audit.record({
      tokenName: actor,
      role: 'admin',
      action: `token.${verb}`,
      target: `token:${name}`,
      outcome: 'ok',
      statusCode: 0,
      remoteAddr: null,
      detail: { ...detail, via: `smgr-controller token ${verb}` },
    });

  token
    .command('create')
    .description('create a token and print its secret (shown once) on stdout, or write it to --output FILE (mode 0600)')
    .argument('<name>', 'token name, shown in the audit trail (letters, digits, . _ @ -)')
    .addOption(new Option('--role <role>', 'viewer, operator or admin').choices([...ROLES]).makeOptionMandatory())
    .option('--expires-days <n>', 'validity in days (default: api.token_ttl_days; 0: never)')
    .option('-o, --output <file>', 'write the secret to FILE (mode 0600, parent directories 0700) instead of stdout')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .action((name: string, o: { role: string; expiresDays?: string; output?: string }) => {
      action = async (cfg) => {
        const days = o.expiresDays === undefined ? undefined : Number(o.expiresDays);
        if (days !== undefined && (!Number.isFinite(days) || days < 0)) {
          throw new SmgrError('USAGE', '--expires-days must be a number >= 0');
        }
        const role = o.role as Role;
        if (!isRole(role)) throw new SmgrError('USAGE', `--role must be one of ${ROLES.join(', ')}`);
        await withStores(cfg, async (tokens, audit) => {
          const ttlMs = days === undefined ? cfg.api.tokenTtlMs : Math.round(days * 86_400_000);
          const { token: secret, info } = await tokens.create({ name, role, createdBy: actor, ttlMs });
          await recordChange(audit, 'create', name, { role });
          const created = `token ${info.name} (${info.role}) created${info.expiresAt ? `, expires ${info.expiresAt}` : ''}`;
          if (o.output !== undefined) {
            try {
              await writeSecretFile(o.output, `${secret}\n`);
            } catch (err) {
              throw new SmgrError(
                'TOKEN_NOT_WRITTEN',
                `${created} but its secret could not be written to ${o.output}: ${(err as Error).message}; revoke it and create it again`,
              );
            }
            io.err(`${created}; secret written to ${o.output} (mode 0600)\n`);
            return;
          }
          io.err(`${created}; the secret below is shown only once:\n`);
          io.out(`${secret}\n`);
        });
      };
    });

  token
    .command('list')
    .description('list tokens (never their secrets) as JSON lines')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .action(() => {
      action = async (cfg) => {
        await withStores(cfg, async (tokens) => {
          for (const t of await tokens.list()) io.out(`${JSON.stringify(t)}\n`);
        });
      };
    });

  token
    .command('revoke')
    .description('revoke a token by name; it stops working at once')
    .argument('<name>')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .action((name: string) => {
      action = async (cfg) => {
        await withStores(cfg, async (tokens, audit) => {
          const r = await tokens.revoke(name);
          await recordChange(audit, 'revoke', name);
          io.out(`${JSON.stringify(r)}\n`);
        });
      };
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    throw err;
  }
  const opts = program.opts<{ config?: string; set: string[] }>();
  let cfg: SmgrConfig;
  try {
    if (!opts.config) {
      throw new ConfigError([{ file: 'command line', key: '--config', rule: 'a config file is required: pass --config FILE or set SMGR_CONFIG' }]);
    }
    cfg = loadConfig({ file: opts.config, overrides: opts.set, requireSections: ['database'] });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`smgr-controller: invalid configuration:\n  ${err.message.split('\n').join('\n  ')}\n`);
      return ExitCode.CONFIG;
    }
    throw err;
  }
  try {
    await action(cfg);
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof SmgrError) {
      io.err(`smgr-controller token: ${err.message}\n`);
      return err.code === 'USAGE' ? ExitCode.USAGE : err.exitCode;
    }
    const code = (err as { code?: string }).code;
    io.err(`smgr-controller token: ${(err as Error).message}\n`);
    return code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'ER_ACCESS_DENIED_ERROR' ? ExitCode.UNAVAILABLE : ExitCode.FAILURE;
  }
}

async function withStores(cfg: SmgrConfig, fn: (tokens: TokenStore, audit: AuditLog) => Promise<void>): Promise<void> {
  const pool = createDbPool(cfg.database, cfg.source);
  const log = await createLogger({ name: 'smgr-controller', level: 'warn', maxLogSizeBytes: 1, logFilesToKeep: 1, destination: process.stderr });
  try {
    // The tables may not exist yet when the first token is made before the first start.
    await migrate(pool, log);
    await fn(new TokenStore(pool), new AuditLog(pool));
  } finally {
    await pool.end().catch(() => undefined);
  }
}
