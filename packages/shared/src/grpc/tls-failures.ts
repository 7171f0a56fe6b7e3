import type * as grpc from '@grpc/grpc-js';
import type { Server as NetServer, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** A TLS handshake the server refused: wrong CA, expired or missing client certificate, garbage. */
export interface TlsHandshakeFailure {
  /** `ip:port` of the client when node still knows it (not after a failed certificate verification). */
  peer: string | undefined;
  /** OpenSSL's verdict on the client certificate (e.g. CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE), else the error code. */
  reason: string;
  message: string;
}

/**
 * Reports TLS handshakes a grpc-js server refused. grpc-js drops them
 * silently (it only traces them), and node discards the certificate
 * verification error (it sets `authorizationError` and destroys the socket),
 * so without this a refused agent leaves no trace on the controller.
 *
 * grpc-js keeps its listening http2 servers in the private `http2Servers`
 * map (checked against @grpc/grpc-js 1.14); call after bindAsync. Returns how
 * many listeners it watches: 0 means this grpc-js no longer exposes them and
 * refusals go unlogged (the caller should say so once).
 */
export function watchTlsHandshakeFailures(server: grpc.Server, onFailure: (f: TlsHandshakeFailure) => void): number {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return 0;
  let watched = 0;
  for (const http2Server of servers.keys() as IterableIterator<NetServer>) {
    if (typeof (http2Server as { setSecureContext?: unknown }).setSecureContext !== 'function') continue;
    const peers = new WeakMap<Socket, string>();
    http2Server.on('connection', (raw: Socket) => peers.set(raw, `${raw.remoteAddress}:${raw.remotePort}`));
    http2Server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      onFailure({
        peer: peerOf(socket, peers),
        reason: socket.authorizationError ? String(socket.authorizationError) : (err.code ?? 'TLS_ERROR'),
        message: err.message,
      });
    });
    watched++;
  }
  return watched;
}

/**
 * The TLSSocket is already destroyed when the error is reported, so its own
 * address is gone; while node still holds its TLSWrap handle (under a symbol)
 * the raw socket it wrapped is that handle's `_parentWrap`. After a failed
 * certificate verification node has dropped the handle too: then the peer is
 * unknown (undefined) and only the reason is reported.
 */
function peerOf(socket: TLSSocket, peers: WeakMap<Socket, string>): string | undefined {
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    const value = (socket as unknown as Record<symbol, unknown>)[sym];
    if (value && typeof value === 'object' && '_parentWrap' in value) {
      const raw = (value as { _parentWrap: unknown })._parentWrap;
      if (raw && typeof raw === 'object') return peers.get(raw as Socket);
    }
  }
  return undefined;
}
