import { isIP } from 'node:net';
import type * as grpc from '@grpc/grpc-js';

interface SecureConnectorShape {
  connectionOptions?: { servername?: string };
}
type CreateConnector = (...args: unknown[]) => SecureConnectorShape;

/**
 * TLS client credentials that send no SNI when the controller is addressed by
 * IP. grpc-js sets the TLS server name to the target host even when it is an
 * IP address, which RFC 6066 forbids and for which Node prints a
 * DeprecationWarning (DEP0123) at every start. Without a server name Node
 * checks the certificate against the host, so an IP address is still
 * verified against the certificate's IP SANs.
 *
 * Reaches into grpc-js's `_createSecureConnector` (checked against
 * @grpc/grpc-js 1.14); if that shape changes, the credentials work as before
 * and only the warning comes back (test/agent-link-errors.test.ts notices).
 */
export function withoutIpServerName(creds: grpc.ChannelCredentials): grpc.ChannelCredentials {
  const target = creds as unknown as { _createSecureConnector?: CreateConnector };
  const original = target._createSecureConnector;
  if (typeof original !== 'function') return creds;
  target._createSecureConnector = (...args: unknown[]) => {
    const connector = original.apply(creds, args);
    const options = connector.connectionOptions;
    if (options?.servername !== undefined && isIP(options.servername) !== 0) delete options.servername;
    return connector;
  };
  return creds;
}
