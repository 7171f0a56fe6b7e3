import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { NotFoundError, RefusedError } from '../errors/index.js';
import { caPaths, hostPaths, HOST_ID_PATTERN, type IssuedFiles } from './pki-files.js';
import { writeSecret } from './init-ca.js';
import { CERT_ROLES, certFromPem, certToPem, hostCertificate, isDnsName, isValidSan, keyFromPem, newKeyPair, type CertRole } from './x509.js';

/** Default validity of a host certificate: short, renewed with "smgr pki renew". */
export const DEFAULT_CERT_DAYS = 90;

export interface IssueCertOptions {
  /**
   * `agent`: a TLS client certificate (extKeyUsage clientAuth), no wildcard
   * names. `controller`: a TLS server certificate (serverAuth), also used by
   * the HTTPS API.
   */
  role: CertRole;
  /**
   * Extra subjectAltNames: DNS names and IP addresses the host is reached by.
   * A controller needs every name and address agents dial (`agent.controller`).
   * The host id itself is always included when it is a valid DNS name.
   */
  sans?: readonly string[];
  /** Validity in days from now; default 90 (DEFAULT_CERT_DAYS). */
  days?: number;
  /** Explicit validity, overriding `days` (tests issue expired certificates with it). */
  notBefore?: Date;
  notAfter?: Date;
  /** Replace an existing certificate and key for this host. */
  force?: boolean;
  now?: Date;
}

export interface IssueCertResult extends IssuedFiles {
  readonly host: string;
  readonly role: CertRole;
  readonly sans: readonly string[];
  readonly notAfter: Date;
}

const DAY_MS = 86_400_000;

/**
 * Issues `HOST.pem` / `HOST.key` (0600) in `dir`, signed by the CA there. The
 * certificate's CN is the host id, which is the identity the controller checks
 * against an agent's Hello; its usage is that of `opts.role` only.
 */
export async function issueCert(dir: string, host: string, opts: IssueCertOptions): Promise<IssueCertResult> {
  if (!CERT_ROLES.includes(opts.role)) {
    throw new RefusedError('PKI_BAD_ROLE', `role must be ${CERT_ROLES.join(' or ')} (got ${JSON.stringify(String(opts.role).slice(0, 40))})`);
  }
  if (!HOST_ID_PATTERN.test(host)) {
    throw new RefusedError(
      'PKI_BAD_NAME',
      `host id ${JSON.stringify(host.slice(0, 80))} must be letters, digits, '.', '_' or '-' (at most 253), starting with a letter or digit`,
    );
  }
  const bad = (opts.sans ?? []).find((s) => !isValidSan(s));
  if (bad !== undefined) throw new RefusedError('PKI_BAD_SAN', `subjectAltName ${JSON.stringify(bad.slice(0, 80))} is neither an IP address nor a DNS name`);
  if (opts.role === 'agent' && [host, ...(opts.sans ?? [])].some((n) => n.includes('*'))) {
    throw new RefusedError('PKI_WILDCARD', 'an agent certificate names one host: no wildcard in its host id or --san');
  }
  const days = opts.days ?? DEFAULT_CERT_DAYS;
  if (!Number.isFinite(days) || days <= 0) throw new RefusedError('PKI_BAD_DAYS', `days must be a positive number (got ${days})`);
  const ca = caPaths(dir);
  if (!existsSync(ca.caCert) || !existsSync(ca.caKey)) {
    throw new NotFoundError(`no CA in ${dir} (ca.pem and ca.key): run "smgr pki init ${dir}" first`);
  }
  const out = hostPaths(dir, host);
  if (!opts.force) {
    for (const p of [out.cert, out.key]) {
      if (existsSync(p)) throw new RefusedError('PKI_EXISTS', `${p} exists; use --force to issue a new one`);
    }
  }
  const caCert = certFromPem(await readFile(ca.caCert, 'utf8'));
  const caKey = keyFromPem(await readFile(ca.caKey, 'utf8'));
  const now = opts.now ?? new Date();
  if (caCert.validity.notAfter.getTime() <= now.getTime()) {
    throw new RefusedError('PKI_CA_EXPIRED', `the CA in ${dir} expired on ${caCert.validity.notAfter.toISOString()}`);
  }
  const notBefore = opts.notBefore ?? new Date(now.getTime() - 5 * 60_000);
  const notAfter = opts.notAfter ?? new Date(now.getTime() + days * DAY_MS);
  if (notAfter.getTime() <= notBefore.getTime()) throw new RefusedError('PKI_BAD_DAYS', 'notAfter must be later than notBefore');
  const sans = [...new Set([...(isDnsName(host) ? [host] : []), ...(opts.sans ?? [])])];
  const keys = await newKeyPair();
  const cert = hostCertificate({ keys, host, role: opts.role, sans, validity: { notBefore, notAfter }, ca: caCert, caKey });
  await writeSecret(out.key, keys.privateKeyPem, opts.force === true);
  await writeFile(out.cert, certToPem(cert), { mode: 0o644, flag: opts.force ? 'w' : 'wx' });
  return { ...out, host, role: opts.role, sans, notAfter };
}

export interface RenewCertOptions {
  /** Validity of the new certificate in days; default 90. */
  days?: number;
  /** The role, when the old certificate predates roles (it allowed both usages). */
  role?: CertRole;
  now?: Date;
}

/**
 * Issues a new key and certificate for `host` with the role and names of its
 * current `HOST.pem`, replacing both files. The old certificate stays valid
 * until it expires (revoke its serial if its key may have leaked); send the
 * daemon SIGHUP to load the new one.
 */
export async function renewCert(dir: string, host: string, opts: RenewCertOptions = {}): Promise<IssueCertResult & { replacedSerial: string }> {
  if (!HOST_ID_PATTERN.test(host)) throw new RefusedError('PKI_BAD_NAME', `host id ${JSON.stringify(host.slice(0, 80))} is not a valid host id`);
  const path = hostPaths(dir, host).cert;
  if (!existsSync(path)) throw new NotFoundError(`${path} does not exist: issue it with "smgr pki issue ${dir} ${host} --role agent|controller"`);
  const old = new X509Certificate(await readFile(path));
  const usages = old.keyUsage ?? [];
  const server = usages.includes('1.3.6.1.5.5.7.3.1');
  const client = usages.includes('1.3.6.1.5.5.7.3.2');
  const role = opts.role ?? (server && !client ? 'controller' : client && !server ? 'agent' : undefined);
  if (!role) throw new RefusedError('PKI_BAD_ROLE', `${path} allows both client and server use (issued before roles): pass --role agent or --role controller`);
  const sans = (old.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((e) => e.startsWith('DNS:') || e.startsWith('IP Address:'))
    .map((e) => e.slice(e.indexOf(':') + 1))
    .filter((n) => n !== host);
  const issued = await issueCert(dir, host, {
    role,
    sans,
    force: true,
    ...(opts.days !== undefined ? { days: opts.days } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { ...issued, replacedSerial: old.serialNumber };
}
