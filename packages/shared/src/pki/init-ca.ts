import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { RefusedError } from '../errors/index.js';
import { caPaths, type PkiPaths } from './pki-files.js';
import { caCertificate, certToPem, newKeyPair } from './x509.js';

export interface InitCaOptions {
  /** Subject CN of the CA; default "smgr CA". */
  commonName?: string;
  /** Validity in days from now; default 3650. */
  days?: number;
  /** Replace an existing CA. Every certificate it issued stops being trusted. */
  force?: boolean;
  /** Clock, for tests. */
  now?: Date;
}

export interface InitCaResult extends PkiPaths {
  readonly commonName: string;
  readonly notAfter: Date;
}

const DAY_MS = 86_400_000;

/**
 * Creates a CA in `dir` (made 0700 if missing): `ca.pem` and `ca.key` (0600).
 * Refuses to overwrite an existing CA unless `force`.
 */
export async function initCa(dir: string, opts: InitCaOptions = {}): Promise<InitCaResult> {
  const days = opts.days ?? 3650;
  if (!Number.isFinite(days) || days <= 0) throw new RefusedError('PKI_BAD_DAYS', `days must be a positive number (got ${days})`);
  const commonName = opts.commonName ?? 'smgr CA';
  const paths = caPaths(dir);
  if (!opts.force) {
    for (const p of [paths.caCert, paths.caKey]) {
      if (existsSync(p)) {
        throw new RefusedError('PKI_EXISTS', `${p} exists; use --force to replace the CA (every certificate it issued stops being trusted)`);
      }
    }
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const now = opts.now ?? new Date();
  const keys = await newKeyPair();
  // Backdated a little: a host whose clock runs slightly behind must still accept it.
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + days * DAY_MS);
  const cert = caCertificate(keys, commonName, { notBefore, notAfter });
  await writeSecret(paths.caKey, keys.privateKeyPem, opts.force === true);
  await writeFile(paths.caCert, certToPem(cert), { mode: 0o644, flag: opts.force ? 'w' : 'wx' });
  return { ...paths, commonName, notAfter };
}

/** Writes a private key readable by its owner only, also when it replaces an older file. */
export async function writeSecret(path: string, pem: string, overwrite: boolean): Promise<void> {
  await writeFile(path, pem, { mode: 0o600, flag: overwrite ? 'w' : 'wx' });
  await chmod(path, 0o600);
}
