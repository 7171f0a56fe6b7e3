import { join } from 'node:path';

/**
 * File layout of a PKI directory:
 *   ca.pem   ca.key          the CA (key 0600; keep it off the hosts)
 *   HOST.pem HOST.key        one certificate per host id (controller or agent)
 */
export interface PkiPaths {
  readonly caCert: string;
  readonly caKey: string;
}

/** A host's certificate and key, with the CA certificate that verifies it. */
export interface IssuedFiles {
  /** The CA certificate, for `[tls] ca`. */
  readonly ca: string;
  /** For `[tls] cert`. */
  readonly cert: string;
  /** For `[tls] key` (mode 0600). */
  readonly key: string;
}

/** A host id as agents report it (same rule as the controller's Hello check). */
export const HOST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function caPaths(dir: string): PkiPaths {
  return { caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key') };
}

export function hostPaths(dir: string, host: string): IssuedFiles {
  return { ca: join(dir, 'ca.pem'), cert: join(dir, `${host}.pem`), key: join(dir, `${host}.key`) };
}
