/**
 * The node-forge parts of the PKI: keys come from node:crypto (native, off the
 * event loop), certificates are built and signed with forge.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface KeyPair {
  privateKeyPem: string;
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
}

/** A 2048-bit RSA key pair (forge signs only RSA). */
export function newKeyPair(): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
      (err, publicKeyPem, privateKeyPem) => {
        if (err) return reject(err);
        resolve({
          privateKeyPem,
          publicKey: forge.pki.publicKeyFromPem(publicKeyPem) as forge.pki.rsa.PublicKey,
          privateKey: forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey,
        });
      },
    );
  });
}

/** A random positive 128-bit serial in hex (the leading bit clear keeps DER from reading it as negative). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed CA certificate. */
export function caCertificate(keys: KeyPair, commonName: string, validity: Validity): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = validity.notBefore;
  cert.validity.notAfter = validity.notAfter;
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return cert;
}

/**
 * Certificate profiles: an agent's certificate is a TLS client certificate
 * only (extKeyUsage clientAuth), a controller's a TLS server certificate only
 * (serverAuth), so a stolen agent certificate cannot pass for a controller.
 */
export type CertRole = 'agent' | 'controller';
export const CERT_ROLES: readonly CertRole[] = ['agent', 'controller'];

/**
 * A host certificate signed by the CA: CN = host id, with the usage of its
 * role and the given names and addresses as subjectAltNames.
 */
export function hostCertificate(args: {
  keys: KeyPair;
  host: string;
  role: CertRole;
  sans: readonly string[];
  validity: Validity;
  ca: forge.pki.Certificate;
  caKey: forge.pki.rsa.PrivateKey;
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = args.keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = args.validity.notBefore;
  cert.validity.notAfter = args.validity.notAfter;
  cert.setSubject([{ name: 'commonName', value: args.host }]);
  cert.setIssuer(args.ca.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    args.role === 'controller' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
    // An empty subjectAltName extension is invalid DER; without names there is none.
    ...(args.sans.length > 0 ? [{ name: 'subjectAltName', altNames: altNames(args.sans) }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: args.ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(args.caKey, forge.md.sha256.create());
  return cert;
}

/** IPs as iPAddress entries (type 7), everything else as dNSName (type 2). */
function altNames(sans: readonly string[]): { type: number; value?: string; ip?: string }[] {
  return [...new Set(sans)].map((s) => (isIP(s) ? { type: 7, ip: s } : { type: 2, value: s }));
}

const DNS_NAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A subjectAltName entry: an IPv4/IPv6 address or a DNS name (a leading `*.` wildcard allowed). */
export function isValidSan(s: string): boolean {
  return isIP(s) !== 0 || DNS_NAME.test(s.startsWith('*.') ? s.slice(2) : s);
}

/** True when `s` can also serve as a DNS name (host ids may hold `_`, DNS names may not). */
export function isDnsName(s: string): boolean {
  return DNS_NAME.test(s);
}

export function certToPem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert);
}

export function certFromPem(pem: string): forge.pki.Certificate {
  return forge.pki.certificateFromPem(pem);
}

export function keyFromPem(pem: string): forge.pki.rsa.PrivateKey {
  return forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
}
