import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { NotFoundError, RefusedError } from '../errors/index.js';
import { caPaths, hostPaths, HOST_ID_PATTERN, type IssuedFiles } from './pki-files.js';
import { writeSecret } from './init-ca.js';
import { certFromPem, certToPem, hostCertificate, isDnsName, isValidSan, keyFromPem, newKeyPair } from './x509.js';

export interface IssueCertOptions {
  /**
   * Extra subjectAltNames: DNS names and IP addresses the host is reached by.
   * A controller needs every name and address agents dial (`agent.controller`).
   * The host id itself is always included when it is a valid DNS name.
   */
  sans?: readonly string[];
  /** Validity in days from now; default 825. */
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
  readonly sans: readonly string[];
  readonly notAfter: Date;
}

const DAY_MS = 86_400_000;

/**
 * Issues `HOST.pem` / `HOST.key` (0600) in `dir`, signed by the CA there. The
 * certificate's CN is the host id, which is the identity the controller checks
 * against an agent's Hello; it is valid for TLS server and client use.
 */
export async function issueCert(dir: string, host: string, opts: IssueCertOptions = {}): Promise<IssueCertResult> {
  if (!HOST_ID_PATTERN.test(host)) {
    throw new RefusedError('PKI_BAD_NAME', `host id ${JSON.stringify(host.slice(0, 80))} must be letters, digits, '.', '_' or '-' (at most 253), starting with a letter or digit`);
  }
  const bad = (opts.sans ?? []).find((s) => !isValidSan(s));
  if (bad !== undefined) throw new RefusedError('PKI_BAD_SAN', `subjectAltName ${JSON.stringify(bad.slice(0, 80))} is neither an IP address nor a DNS name`);
  const days = opts.days ?? 825;
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
  const cert = hostCertificate({ keys, host, sans, validity: { notBefore, notAfter }, ca: caCert, caKey });
  await writeSecret(out.key, keys.privateKeyPem, opts.force === true);
  await writeFile(out.cert, certToPem(cert), { mode: 0o644, flag: opts.force ? 'w' : 'wx' });
  return { ...out, host, sans, notAfter };
}
