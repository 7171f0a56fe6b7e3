import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { checkServerIdentity, createSecureContext, type PeerCertificate, type SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../errors/index.js';
import { peerCertificateProblem, type PeerPolicy, type PeerRole } from './peer-policy.js';
import { crlParser } from './crl-support.js';
import { certificatesFromPem } from './pem.js';
import { withoutIpServerName } from './no-ip-sni.js';

/** The `[tls]` section as the daemons see it. */
export interface TlsSettings {
  ca: string;
  cert: string;
  key: string;
  insecure: boolean;
  /** CRL file (PEM) or '' (none). */
  crl?: string;
  /** Hex SHA-256 of the CA that must have issued the peer's certificate, or ''. */
  pinCaSha256?: string;
}

/** Reads a PEM file named by config key `key`; an unreadable file is a ConfigError naming it. */
export function readPem(path: string, key: string, source: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError([{ file: source, key, value: path, rule: `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})` }], { cause: err });
  }
}

/** Everything read from the `[tls]` files at one moment, checked. */
export interface TlsMaterial {
  readonly context: SecureContextOptions;
  readonly policy: PeerPolicy;
  /** The CRL's nextUpdate, when a CRL is configured and has one. */
  readonly crlNextUpdate: Date | undefined;
}

const bad = (source: string, key: string, value: string, rule: string, cause?: unknown) =>
  new ConfigError([{ file: source, key, value, rule }], cause === undefined ? {} : { cause });

/**
 * Reads and checks the `[tls]` files for a daemon whose own certificate plays
 * `self` (the controller serves, an agent is a client): the certificate must
 * match the key and carry the usage of its role, the CRL must be signed by a
 * trusted CA and current, the pin must be a SHA-256. Throws a ConfigError
 * naming the key otherwise.
 */
export function loadTlsMaterial(tls: TlsSettings, self: PeerRole, source = 'config'): TlsMaterial {
  const ca = readPem(tls.ca, 'tls.ca', source);
  const cert = readPem(tls.cert, 'tls.cert', source);
  const key = readPem(tls.key, 'tls.key', source);
  const trusted = certificatesFromPem(ca);
  if (trusted.length === 0) throw bad(source, 'tls.ca', tls.ca, 'holds no PEM certificate');
  const pin = (tls.pinCaSha256 ?? '').replace(/:/g, '').toLowerCase();
  if (pin !== '' && !/^[0-9a-f]{64}$/.test(pin)) {
    throw bad(source, 'tls.pin_ca_sha256', tls.pinCaSha256 ?? '', 'must be a SHA-256 fingerprint: 64 hex digits, colons allowed');
  }
  let crl: Buffer | undefined;
  let revoked: ReadonlySet<string> = new Set();
  let crlNextUpdate: Date | undefined;
  if (tls.crl) {
    crl = readPem(tls.crl, 'tls.crl', source);
    try {
      const list = crlParser().readRevocationList(crl, trusted);
      revoked = list.serials;
      crlNextUpdate = list.nextUpdate;
    } catch (err) {
      throw bad(source, 'tls.crl', tls.crl, (err as Error).message, err);
    }
  }
  const context: SecureContextOptions = { ca, cert, key, ...(crl ? { crl } : {}) };
  try {
    createSecureContext(context);
  } catch (err) {
    throw bad(source, 'tls.key', tls.key, `does not match tls.cert or cannot be read (${(err as Error).message})`, err);
  }
  const ownDer = certificatesFromPem(cert)[0]?.raw;
  if (!ownDer) throw bad(source, 'tls.cert', tls.cert, 'holds no PEM certificate');
  const own = peerCertificateProblem(ownDer, self, { trusted, pinCaSha256: '', revoked: new Set() });
  if (own) throw bad(source, 'tls.cert', tls.cert, `cannot serve this ${self === 'agent' ? 'agent' : 'controller'}: ${own}`);
  return { context, policy: { trusted, pinCaSha256: pin, revoked }, crlNextUpdate };
}

/**
 * A grpc-js ServerCredentials whose TLS context can be replaced while the
 * server runs: grpc-js watches its credentials and calls
 * `setSecureContext` on its listeners with each update (grpc-js ≥ 1.10),
 * so new handshakes use the new certificate, key, CA and CRL and open
 * streams are untouched.
 */
class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(context: SecureContextOptions) {
    super({ requestCert: true, rejectUnauthorized: true }, context);
  }
  replace(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }
  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * The controller's side of mutual TLS: credentials for the gRPC server, the
 * policy agents' certificates are held to, and reloading both from the files
 * (SIGHUP, or the CRL file changing) without a restart.
 */
export class ServerTls {
  readonly credentials: grpc.ServerCredentials;
  private material: TlsMaterial | null;
  private watched: string[] = [];

  constructor(
    private readonly settings: TlsSettings,
    private readonly source = 'config',
  ) {
    if (settings.insecure) {
      this.material = null;
      this.credentials = grpc.ServerCredentials.createInsecure();
      return;
    }
    this.material = loadTlsMaterial(settings, 'controller', source);
    this.credentials = new ReloadableServerCredentials(this.material.context);
  }

  /** Why an agent's certificate (DER) is refused now, or null; always null without TLS. */
  agentProblem(der: Buffer | undefined): string | null {
    if (!this.material) return null;
    if (!der) return 'no client certificate';
    return peerCertificateProblem(der, 'agent', this.material.policy);
  }

  get crlNextUpdate(): Date | undefined {
    return this.material?.crlNextUpdate;
  }

  /**
   * Re-reads every `[tls]` file. On success new handshakes use them; on a
   * ConfigError (half-copied files, a CRL not signed by the CA) the running
   * material stays and the error is thrown for the caller to log.
   */
  reload(): void {
    if (!this.material) return;
    const next = loadTlsMaterial(this.settings, 'controller', this.source);
    (this.credentials as ReloadableServerCredentials).replace(next.context);
    this.material = next;
  }

  /**
   * Calls `onChange` when the CRL file changes (stat polling every
   * `intervalMs`: it also sees a file replaced by rename, which is how
   * "smgr pki revoke" and configuration tools write it).
   */
  watchCrl(onChange: () => void, intervalMs = 2_000): void {
    const crl = this.settings.crl;
    if (!this.material || !crl) return;
    watchFile(crl, { interval: intervalMs, persistent: false }, (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) onChange();
    });
    this.watched.push(crl);
  }

  stop(): void {
    for (const f of this.watched) unwatchFile(f);
    this.watched = [];
  }
}

/**
 * Server credentials without reloading (tests and tools); the controller uses
 * ServerTls.
 */
export function serverCredentials(tls: TlsSettings, source = 'config'): grpc.ServerCredentials {
  return new ServerTls(tls, source).credentials;
}

/**
 * Client credentials presenting this agent's certificate. The controller's
 * certificate must pass the hostname check, carry extKeyUsage serverAuth,
 * not be in the CRL (OpenSSL checks that from the `crl` in the context) and,
 * with a pin, come from the pinned CA. Files are read now: build new
 * credentials (the agent does so on every connection attempt) to pick up
 * renewed certificates or a new CRL.
 */
export function channelCredentials(tls: TlsSettings, source = 'config'): grpc.ChannelCredentials {
  if (tls.insecure) return grpc.credentials.createInsecure();
  const material = loadTlsMaterial(tls, 'agent', source);
  return withoutIpServerName(
    grpc.credentials.createFromSecureContext(createSecureContext(material.context), {
      checkServerIdentity: (host: string, cert: PeerCertificate) => {
        const nameError = checkServerIdentity(host, cert);
        if (nameError) return nameError;
        const problem = peerCertificateProblem(cert.raw, 'controller', material.policy);
        return problem ? Object.assign(new Error(problem), { code: 'ERR_SMGR_PEER_REFUSED' }) : undefined;
      },
    }),
  );
}
