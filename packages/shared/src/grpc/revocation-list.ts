/**
 * Reading a certificate revocation list (X.509 v2 CRL, PEM) for the daemons.
 *
 * OpenSSL does the revocation check itself during each handshake (the CRL is
 * passed as the `crl` option of the TLS context). This module reads the same
 * file in JavaScript first so that a CRL that OpenSSL would later reject for
 * every peer — not signed by the CA, expired, not a CRL — is refused when it
 * is loaded, with the file named, instead of cutting every connection; and so
 * that the controller can drop a stream that was opened before the revocation.
 */
import { createPublicKey, verify, type X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificateList, type Name } from '@peculiar/asn1-x509';
import { certificatesFromPem, normalizeSerial, pemBlocks, serialFromBytes } from './pem.js';

export { certificatesFromPem, normalizeSerial, pemBlocks, serialFromBytes };

export interface RevocationList {
  /** Revoked serial numbers, normalised by `normalizeSerial`. */
  readonly serials: ReadonlySet<string>;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** The trusted CA certificate that signed this list. */
  readonly issuer: X509Certificate;
}

/** The TBSCertList bytes exactly as signed: the first element of the outer SEQUENCE. */
function tbsBytes(der: Buffer): Buffer {
  const lengthAt = (at: number): [len: number, header: number] => {
    const first = der[at + 1]!;
    if (first < 0x80) return [first, 2];
    const n = first & 0x7f;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
    return [len, 2 + n];
  };
  const [, outerHeader] = lengthAt(0);
  const [tbsLen, tbsHeader] = lengthAt(outerHeader);
  return der.subarray(outerHeader, outerHeader + tbsHeader + tbsLen);
}

/**
 * Parses a PEM CRL and checks it against the trusted CAs: it must be signed by
 * one of them and not be past its nextUpdate at `now`. Throws an Error with a
 * plain reason otherwise (the caller adds the config key).
 */
export function readRevocationList(pem: string | Buffer, trusted: readonly X509Certificate[], now = new Date()): RevocationList {
  const blocks = pemBlocks(pem.toString(), 'X509 CRL');
  if (blocks.length !== 1) throw new Error(blocks.length === 0 ? 'no "BEGIN X509 CRL" block in the file' : 'more than one CRL in the file');
  const der = blocks[0]!;
  let crl: CertificateList;
  try {
    crl = AsnConvert.parse(der, CertificateList);
  } catch (err) {
    throw new Error(`not a valid CRL (${(err as Error).message})`);
  }
  const issuerDer = Buffer.from(AsnConvert.serialize(crl.tbsCertList.issuer));
  const signed = tbsBytes(der);
  const signature = Buffer.from(crl.signature);
  const hash = hashOf(crl.signatureAlgorithm.algorithm);
  const issuer = trusted.find((ca) => {
    if (!Buffer.from(AsnConvert.serialize(subjectName(ca))).equals(issuerDer)) return false;
    try {
      return verify(hash, signed, createPublicKey(ca.publicKey.export({ type: 'spki', format: 'pem' })), signature);
    } catch {
      return false;
    }
  });
  if (!issuer) throw new Error('the CRL is not signed by a CA in tls.ca');
  const thisUpdate = crl.tbsCertList.thisUpdate.getTime();
  const nextUpdate = crl.tbsCertList.nextUpdate?.getTime();
  if (nextUpdate && nextUpdate.getTime() <= now.getTime()) {
    throw new Error(`the CRL expired on ${nextUpdate.toISOString()} (its nextUpdate); re-sign it with "smgr pki crl DIR"`);
  }
  const serials = new Set((crl.tbsCertList.revokedCertificates ?? []).map((r) => serialFromBytes(r.userCertificate)));
  return { serials, thisUpdate, nextUpdate, issuer };
}

function subjectName(cert: X509Certificate): Name {
  return AsnConvert.parse(cert.raw, Certificate).tbsCertificate.subject;
}

const HASHES: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

function hashOf(oid: string): string {
  const hash = HASHES[oid];
  if (!hash) throw new Error(`the CRL is signed with an unsupported algorithm (${oid})`);
  return hash;
}
