import type * as Revocation from './revocation-list.js';

let parser: typeof Revocation | null = null;

/**
 * Loads the CRL parser (revocation-list.ts and its ASN.1 libraries, about
 * 1.4 MiB of an agent's memory): only a daemon whose `[tls] crl` is set pays
 * for it. runDaemon calls it before the daemon reads its TLS files.
 */
export async function loadCrlSupport(): Promise<void> {
  parser ??= await import('./revocation-list.js');
}

/** The CRL parser; loadCrlSupport() must have run (a daemon with tls.crl: runDaemon does it). */
export function crlParser(): typeof Revocation {
  if (!parser) throw new Error('the CRL parser is not loaded (internal: call loadCrlSupport() before reading tls.crl)');
  return parser;
}
