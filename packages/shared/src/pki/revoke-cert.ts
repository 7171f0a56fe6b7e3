/**
 * The CA's certificate revocation list, `crl.pem` in the PKI directory:
 * `revokeCert` adds a certificate to it, `writeCrl` re-signs it (a CRL
 * carries a nextUpdate; past it, TLS peers reject every certificate, so it
 * must be re-signed before then). node-forge cannot write CRLs: the list is
 * built with @peculiar/asn1-x509 and signed with node:crypto.
 */
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  Certificate,
  CertificateList,
  CRLNumber,
  CRLReason,
  CRLReasons,
  Extension,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  RevokedCertificate,
  SubjectKeyIdentifier,
  TBSCertList,
  Time,
  Version,
} from '@peculiar/asn1-x509';
import { NotFoundError, RefusedError } from '../errors/index.js';
import { normalizeSerial, readRevocationList, serialFromBytes } from '../grpc/revocation-list.js';
import { caPaths } from './pki-files.js';

/** Default lifetime of a signed CRL. */
export const DEFAULT_CRL_DAYS = 365;
const DAY_MS = 86_400_000;

export const REVOKE_REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;
export type RevokeReason = (typeof REVOKE_REASONS)[number];

export function crlPath(dir: string): string {
  return join(dir, 'crl.pem');
}

export interface CrlOptions {
  /** Days until nextUpdate; default 365. */
  days?: number;
  now?: Date;
}

export interface RevokeOptions extends CrlOptions {
  reason?: RevokeReason;
}

export interface CrlResult {
  readonly crl: string;
  /** Revoked serials now listed, normalised hex. */
  readonly revoked: readonly string[];
  readonly nextUpdate: Date;
  readonly crlNumber: number;
}

interface Entry {
  serial: Buffer;
  date: Date;
  extensions: Extension[] | undefined;
}

/**
 * Revokes `target` — a certificate file (PEM) issued by the CA in `dir`, or a
 * serial number in hex — by adding it to `dir/crl.pem` (created if missing)
 * and re-signing the list. Revoking a serial already listed changes nothing
 * but the signature date.
 */
export async function revokeCert(dir: string, target: string, opts: RevokeOptions = {}): Promise<CrlResult & { serial: string }> {
  const ca = await loadCa(dir);
  let serial: string;
  if (existsSync(target)) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(await readFile(target));
    } catch {
      throw new RefusedError('PKI_BAD_CERT', `${target} is not a PEM certificate`);
    }
    if (!cert.checkIssued(ca.cert) || !cert.verify(ca.cert.publicKey)) {
      throw new RefusedError('PKI_NOT_OURS', `${target} was not issued by the CA in ${dir}`);
    }
    serial = normalizeSerial(cert.serialNumber);
  } else if (/^[0-9A-Fa-f:]{1,128}$/.test(target)) {
    serial = normalizeSerial(target);
  } else {
    throw new RefusedError('PKI_BAD_TARGET', `${JSON.stringify(target.slice(0, 80))} is neither a certificate file nor a serial number in hex`);
  }
  const entries = await currentEntries(dir, ca.cert);
  if (!entries.some((e) => serialFromBytes(e.serial) === serial)) {
    const reason = CRLReasons[opts.reason ?? 'unspecified'];
    entries.push({
      serial: serialBytes(serial),
      date: opts.now ?? new Date(),
      extensions:
        reason === CRLReasons.unspecified
          ? undefined
          : [new Extension({ extnID: id_ce_cRLReasons, critical: false, extnValue: new OctetString(AsnConvert.serialize(new CRLReason(reason))) })],
    });
  }
  return { ...(await signCrl(dir, ca, entries, opts)), serial };
}

/** Writes (or re-signs) `dir/crl.pem` with the certificates it already lists; an empty list when there was none. */
export async function writeCrl(dir: string, opts: CrlOptions = {}): Promise<CrlResult> {
  const ca = await loadCa(dir);
  return signCrl(dir, ca, await currentEntries(dir, ca.cert), opts);
}

interface Ca {
  cert: X509Certificate;
  keyPem: string;
}

async function loadCa(dir: string): Promise<Ca> {
  const paths = caPaths(dir);
  if (!existsSync(paths.caCert) || !existsSync(paths.caKey)) {
    throw new NotFoundError(`no CA in ${dir} (ca.pem and ca.key): run "smgr pki init ${dir}" first`);
  }
  return { cert: new X509Certificate(await readFile(paths.caCert)), keyPem: await readFile(paths.caKey, 'utf8') };
}

/** The entries of the existing CRL, kept as they are (dates, reasons); none when there is no CRL yet. */
async function currentEntries(dir: string, ca: X509Certificate): Promise<Entry[]> {
  const path = crlPath(dir);
  if (!existsSync(path)) return [];
  const pem = await readFile(path, 'utf8');
  try {
    // An expired list is still a valid record of what was revoked: check the signature, not the date.
    readRevocationList(pem, [ca], new Date(0));
  } catch (err) {
    throw new RefusedError('PKI_BAD_CRL', `${path}: ${(err as Error).message}; move it away to start a new list`);
  }
  const list = AsnConvert.parse(pemToDer(pem), CertificateList);
  return (list.tbsCertList.revokedCertificates ?? []).map((r) => ({
    serial: Buffer.from(r.userCertificate),
    date: r.revocationDate.getTime(),
    extensions: r.crlEntryExtensions,
  }));
}

async function signCrl(dir: string, ca: Ca, entries: Entry[], opts: CrlOptions): Promise<CrlResult> {
  const days = opts.days ?? DEFAULT_CRL_DAYS;
  if (!Number.isFinite(days) || days <= 0) throw new RefusedError('PKI_BAD_DAYS', `days must be a positive number (got ${days})`);
  const now = opts.now ?? new Date();
  const nextUpdate = new Date(now.getTime() + days * DAY_MS);
  const previous = await previousNumber(dir);
  const crlNumber = previous + 1;
  const key = createPrivateKey(ca.keyPem);
  const algorithm = key.asymmetricKeyType === 'ec' ? ECDSA_SHA256 : RSA_SHA256;
  const caAsn = AsnConvert.parse(ca.cert.raw, Certificate);
  const ski = caAsn.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  const extensions = [new Extension({ extnID: id_ce_cRLNumber, critical: false, extnValue: new OctetString(AsnConvert.serialize(new CRLNumber(crlNumber))) })];
  if (ski) {
    const keyId = AsnConvert.parse(ski.extnValue.buffer, SubjectKeyIdentifier);
    const akid = new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId.buffer) });
    extensions.push(new Extension({ extnID: id_ce_authorityKeyIdentifier, critical: false, extnValue: new OctetString(AsnConvert.serialize(akid)) }));
  }
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: algorithm,
    issuer: caAsn.tbsCertificate.subject,
    // Backdated a little, like the certificates: a peer whose clock runs behind must accept it.
    thisUpdate: new Time(new Date(now.getTime() - 5 * 60_000)),
    nextUpdate: new Time(nextUpdate),
    crlExtensions: extensions,
  });
  if (entries.length > 0) {
    tbs.revokedCertificates = entries.map(
      (e) =>
        new RevokedCertificate({
          userCertificate: toArrayBuffer(e.serial),
          revocationDate: new Time(e.date),
          ...(e.extensions && e.extensions.length > 0 ? { crlEntryExtensions: e.extensions } : {}),
        }),
    );
  }
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), key);
  const list = new CertificateList({ tbsCertList: tbs, signatureAlgorithm: algorithm, signature: toArrayBuffer(signature) });
  const der = Buffer.from(AsnConvert.serialize(list));
  const pem = `-----BEGIN X509 CRL-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END X509 CRL-----\n`;
  // Written whole and renamed into place: a daemon polling the file never reads half a list.
  const path = crlPath(dir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, pem, { mode: 0o644 });
  await rename(tmp, path);
  return { crl: path, revoked: entries.map((e) => serialFromBytes(e.serial)), nextUpdate, crlNumber };
}

async function previousNumber(dir: string): Promise<number> {
  const path = crlPath(dir);
  if (!existsSync(path)) return 0;
  const list = AsnConvert.parse(pemToDer(await readFile(path, 'utf8')), CertificateList);
  const ext = list.tbsCertList.crlExtensions?.find((e) => e.extnID === id_ce_cRLNumber);
  return ext ? AsnConvert.parse(ext.extnValue.buffer, CRLNumber).value : 0;
}

const RSA_SHA256 = new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters: null });
const ECDSA_SHA256 = new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' });

function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(pem);
  return Buffer.from((m?.[1] ?? '').replace(/\s+/g, ''), 'base64');
}

/** A serial in hex as the content bytes of a positive DER INTEGER. */
function serialBytes(hex: string): Buffer {
  const b = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  return b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
