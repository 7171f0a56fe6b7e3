import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../errors/index.js';
import { withoutIpServerName } from './no-ip-sni.js';

/** The `[tls]` section as the daemons see it. */
export interface TlsSettings {
  ca: string;
  cert: string;
  key: string;
  insecure: boolean;
}

/** Reads a PEM file named by config key `key`; an unreadable file is a ConfigError naming it. */
export function readPem(path: string, key: string, source: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(
      [{ file: source, key, value: path, rule: `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})` }],
      { cause: err },
    );
  }
}

/**
 * Server credentials: mutual TLS (client certificates required and checked
 * against the CA), or plaintext when `tls.insecure` is set.
 */
export function serverCredentials(tls: TlsSettings, source = 'config'): grpc.ServerCredentials {
  if (tls.insecure) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    readPem(tls.ca, 'tls.ca', source),
    [{ cert_chain: readPem(tls.cert, 'tls.cert', source), private_key: readPem(tls.key, 'tls.key', source) }],
    true,
  );
}

/** Client credentials presenting this host's certificate. */
export function channelCredentials(tls: TlsSettings, source = 'config'): grpc.ChannelCredentials {
  if (tls.insecure) return grpc.credentials.createInsecure();
  return withoutIpServerName(
    grpc.credentials.createSsl(readPem(tls.ca, 'tls.ca', source), readPem(tls.key, 'tls.key', source), readPem(tls.cert, 'tls.cert', source)),
  );
}
