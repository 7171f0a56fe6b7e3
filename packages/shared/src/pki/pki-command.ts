/** The `pki` command: a CA and host certificates for mutual TLS (entry point: pki-main.ts). */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode, SmgrError } from '../errors/index.js';
import { initCa } from './init-ca.js';
import { DEFAULT_CERT_DAYS, issueCert, renewCert } from './issue-cert.js';
import { DEFAULT_CRL_DAYS, REVOKE_REASONS, revokeCert, writeCrl, type RevokeReason } from './revoke-cert.js';
import { CERT_ROLES, type CertRole } from './x509.js';

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
  const pki = new Command('pki').description('create a CA, issue, renew and revoke host certificates for mutual TLS');
  pki
    .command('init')
    .description('create ca.pem and ca.key (0600) in DIR')
    .argument('<dir>', 'directory for the CA (created 0700)')
    .option('--name <cn>', 'CA common name', 'smgr CA')
    .option('--days <n>', 'validity in days', positiveDays, 3650)
    .option('--force', 'replace an existing CA (every certificate it issued stops being trusted)', false)
    .action(async (dir: string, o: { name: string; days: number; force: boolean }) => {
      const r = await initCa(dir, { commonName: o.name, days: o.days, force: o.force });
      const caSha256 = createHash('sha256')
        .update(new X509Certificate(readFileSync(r.caCert)).raw)
        .digest('hex');
      io.out(`${JSON.stringify({ ca: r.caCert, key: r.caKey, commonName: r.commonName, notAfter: r.notAfter.toISOString(), caSha256 })}\n`);
    });
  const roleOption = () =>
    new Option('--role <role>', 'agent: TLS client certificate (clientAuth); controller: TLS server certificate (serverAuth), also for the HTTPS API').choices(
      CERT_ROLES,
    );
  pki
    .command('issue')
    .description('issue HOST.pem and HOST.key (0600) signed by the CA in DIR; CN = HOST, the identity the controller checks')
    .argument('<dir>', 'directory holding ca.pem and ca.key')
    .argument('<host>', 'host id (agent.host_id, or the controller id)')
    .addOption(roleOption().makeOptionMandatory())
    .option('--san <name|ip>', 'extra DNS name or IP address; repeatable (a controller needs every address agents dial; no wildcards for agents)', collect, [])
    .option('--days <n>', 'validity in days', positiveDays, DEFAULT_CERT_DAYS)
    .option('--force', 'replace an existing certificate for HOST', false)
    .action(async (dir: string, host: string, o: { role: CertRole; san: string[]; days: number; force: boolean }) => {
      const r = await issueCert(dir, host, { role: o.role, sans: o.san, days: o.days, force: o.force });
      io.out(`${JSON.stringify({ host: r.host, role: r.role, cert: r.cert, key: r.key, ca: r.ca, sans: r.sans, notAfter: r.notAfter.toISOString() })}\n`);
    });
  pki
    .command('renew')
    .description('issue a new key and certificate for HOST with the role and names of its current one (then send the daemon SIGHUP)')
    .argument('<dir>', 'directory holding ca.pem, ca.key and HOST.pem')
    .argument('<host>', 'host id')
    .addOption(roleOption().default(undefined, 'the role of the current certificate'))
    .option('--days <n>', 'validity in days', positiveDays, DEFAULT_CERT_DAYS)
    .action(async (dir: string, host: string, o: { role?: CertRole; days: number }) => {
      const r = await renewCert(dir, host, { days: o.days, ...(o.role ? { role: o.role } : {}) });
      io.out(
        `${JSON.stringify({ host: r.host, role: r.role, cert: r.cert, key: r.key, sans: r.sans, notAfter: r.notAfter.toISOString(), replacedSerial: r.replacedSerial })}\n`,
      );
    });
  pki
    .command('revoke')
    .description("add a certificate to the CA's revocation list DIR/crl.pem (set [tls] crl to a copy of it on every host)")
    .argument('<dir>', 'directory holding ca.pem and ca.key')
    .argument('<cert|serial>', 'certificate file issued by this CA, or its serial number in hex')
    .addOption(new Option('--reason <reason>', 'revocation reason').choices(REVOKE_REASONS).default('unspecified'))
    .option('--crl-days <n>', 'days until the list must be re-signed (nextUpdate)', positiveDays, DEFAULT_CRL_DAYS)
    .action(async (dir: string, target: string, o: { reason: RevokeReason; crlDays: number }) => {
      const r = await revokeCert(dir, target, { reason: o.reason, days: o.crlDays });
      io.out(
        `${JSON.stringify({ revoked: r.serial, crl: r.crl, listed: r.revoked.length, crlNumber: r.crlNumber, nextUpdate: r.nextUpdate.toISOString() })}\n`,
      );
    });
  pki
    .command('crl')
    .description('write or re-sign DIR/crl.pem (before its nextUpdate: past it, peers refuse every certificate)')
    .argument('<dir>', 'directory holding ca.pem and ca.key')
    .option('--crl-days <n>', 'days until the list must be re-signed (nextUpdate)', positiveDays, DEFAULT_CRL_DAYS)
    .action(async (dir: string, o: { crlDays: number }) => {
      const r = await writeCrl(dir, { days: o.crlDays });
      io.out(`${JSON.stringify({ crl: r.crl, listed: r.revoked.length, crlNumber: r.crlNumber, nextUpdate: r.nextUpdate.toISOString() })}\n`);
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
