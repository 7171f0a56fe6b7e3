/** The `pki` command: a CA and host certificates for mutual TLS (entry point: pki-main.ts). */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ExitCode, SmgrError } from '../errors/index.js';
import { initCa } from './init-ca.js';
import { issueCert } from './issue-cert.js';

export interface PkiIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const positiveDays = (value: string): number => {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0) throw new InvalidArgumentError('must be a positive number of days');
  return n;
};

/**
 * Builds the `pki` command (commander) so a CLI can add it as a subcommand:
 * `program.addCommand(pkiCommand(io))`. Actions print one JSON line with the
 * files written.
 */
export function pkiCommand(io: PkiIo): Command {
  const pki = new Command('pki').description('create a CA and issue host certificates for mutual TLS');
  pki
    .command('init')
    .description('create ca.pem and ca.key (0600) in DIR')
    .argument('<dir>', 'directory for the CA (created 0700)')
    .option('--name <cn>', 'CA common name', 'smgr CA')
    .option('--days <n>', 'validity in days', positiveDays, 3650)
    .option('--force', 'replace an existing CA (every certificate it issued stops being trusted)', false)
    .action(async (dir: string, o: { name: string; days: number; force: boolean }) => {
      const r = await initCa(dir, { commonName: o.name, days: o.days, force: o.force });
      io.out(`${JSON.stringify({ ca: r.caCert, key: r.caKey, commonName: r.commonName, notAfter: r.notAfter.toISOString() })}\n`);
    });
  pki
    .command('issue')
    .description('issue HOST.pem and HOST.key (0600) signed by the CA in DIR; CN = HOST, the identity the controller checks')
    .argument('<dir>', 'directory holding ca.pem and ca.key')
    .argument('<host>', 'host id (agent.host_id, or the controller id)')
    .option('--san <name|ip>', 'extra DNS name or IP address; repeatable (a controller needs every address agents dial)', collect, [])
    .option('--days <n>', 'validity in days', positiveDays, 825)
    .option('--force', 'replace an existing certificate for HOST', false)
    .action(async (dir: string, host: string, o: { san: string[]; days: number; force: boolean }) => {
      const r = await issueCert(dir, host, { sans: o.san, days: o.days, force: o.force });
      io.out(`${JSON.stringify({ host: r.host, cert: r.cert, key: r.key, ca: r.ca, sans: r.sans, notAfter: r.notAfter.toISOString() })}\n`);
    });
  return pki;
}

/** Runs `pki <args>` and resolves with the exit code: 0 ok, 1 failure, 2 usage. */
export async function pkiMain(args: readonly string[], io: PkiIo = defaultIo): Promise<number> {
  const program = pkiCommand(io);
  const quiet = { writeOut: (s: string) => io.out(s), writeErr: (s: string) => io.err(s) };
  program.configureOutput(quiet).exitOverride();
  for (const sub of program.commands) sub.configureOutput(quiet).exitOverride();
  try {
    await program.parseAsync([...args], { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    if (err instanceof SmgrError) {
      io.err(`pki: ${err.message}\n`);
      return err.exitCode;
    }
    io.err(`pki: ${(err as Error).message}\n`);
    return ExitCode.FAILURE;
  }
}

const defaultIo: PkiIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
