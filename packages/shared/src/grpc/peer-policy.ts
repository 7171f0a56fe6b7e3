/**
 * What a peer's certificate must be, beyond "signed by the CA and not expired"
 * (which OpenSSL checks in the handshake):
 *
 * - an **agent** (TLS client) presents a client certificate: extKeyUsage
 *   clientAuth and not serverAuth, so it can never pass for a controller; no
 *   wildcard in its CN or names, since its CN is its identity;
 * - a **controller** (TLS server) presents a certificate with extKeyUsage
 *   serverAuth;
 * - not revoked (serial in the CRL), and, when `pin_ca_sha256` is set, issued
 *   by exactly that CA even if `tls.ca` trusts more.
 *
 * Pure: the daemons call it with the peer's DER certificate.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { normalizeSerial } from './pem.js';

export type PeerRole = 'agent' | 'controller';

export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface PeerPolicy {
  /** The trusted CA certificates (`tls.ca`), to find the issuer for the pin. */
  trusted: readonly X509Certificate[];
  /** SHA-256 of the issuing CA certificate (DER), hex without separators, lower case; '' = no pin. */
  pinCaSha256: string;
  /** Revoked serials (normalised), from `tls.crl`. */
  revoked: ReadonlySet<string>;
}

/** Hex SHA-256 of a certificate's DER: what `pin_ca_sha256` holds (`openssl x509 -noout -fingerprint -sha256`, colons optional). */
export function certificateSha256(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** `AB:CD:…` or `abcd…` → `abcd…`. */
export function normalizePin(pin: string): string {
  return pin.replace(/:/g, '').trim().toLowerCase();
}

/** DNS names in a certificate's subjectAltName (`DNS:a, IP Address:1.2.3.4`). */
function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4));
}

function commonName(cert: X509Certificate): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
}

/**
 * Why the peer certificate is not acceptable for `role`, or null when it is.
 * The reason is one plain sentence for logs and refusals.
 */
export function peerCertificateProblem(der: Buffer, role: PeerRole, policy: PeerPolicy): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return 'the peer certificate cannot be parsed';
  }
  const usages = cert.keyUsage ?? [];
  if (role === 'agent') {
    if (!usages.includes(EKU_CLIENT_AUTH)) return 'the agent certificate lacks extKeyUsage clientAuth; issue it with "smgr pki issue --role agent"';
    if (usages.includes(EKU_SERVER_AUTH)) {
      return 'the agent certificate also allows serverAuth, so it could pass for a controller; re-issue it with "smgr pki issue --role agent"';
    }
    const cn = commonName(cert) ?? '';
    if (cn.includes('*') || dnsNames(cert).some((n) => n.includes('*'))) return 'the agent certificate holds a wildcard name';
  } else if (!usages.includes(EKU_SERVER_AUTH)) {
    return 'the controller certificate lacks extKeyUsage serverAuth (an agent certificate cannot serve as a controller); issue it with "smgr pki issue --role controller"';
  }
  if (policy.revoked.has(normalizeSerial(cert.serialNumber))) return `the ${role} certificate (serial ${normalizeSerial(cert.serialNumber)}) is revoked`;
  if (policy.pinCaSha256 !== '') {
    const issuer = policy.trusted.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    if (!issuer || certificateSha256(issuer) !== policy.pinCaSha256) return `the ${role} certificate is not issued by the CA pinned in tls.pin_ca_sha256`;
  }
  return null;
}
