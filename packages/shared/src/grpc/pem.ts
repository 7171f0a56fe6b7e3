import { X509Certificate } from 'node:crypto';

/*
 * PEM and serial helpers without the ASN.1 libraries: what every daemon
 * needs at start. The CRL parser (revocation-list.ts) and its ASN.1
 * libraries load only when tls.crl is set (crl-support.ts).
 */

/** Upper-case hex without separators or leading zeros: how serials are compared everywhere. */
export function normalizeSerial(serial: string): string {
  return serial
    .replace(/[:\s]/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
}

/** Hex of a DER INTEGER's content bytes, normalised. */
export function serialFromBytes(bytes: ArrayBuffer | Uint8Array): string {
  return normalizeSerial(Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex'));
}

/** The PEM blocks of `pem` with label `label`, as DER. */
export function pemBlocks(pem: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** Every certificate in a PEM bundle (a `[tls] ca` file may hold several CAs). */
export function certificatesFromPem(pem: string | Buffer): X509Certificate[] {
  return pemBlocks(pem.toString(), 'CERTIFICATE').map((der) => new X509Certificate(der));
}
