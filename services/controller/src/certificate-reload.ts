import type { Logger, ServerTls } from '@smgr/shared';
import type { AgentGateway } from './agents/agent-gateway.js';
import type { OperatorApi } from './api/operator-api.js';

/**
 * Re-reads the `[tls]` files (certificate, key, CA, CRL): new handshakes
 * use them, open streams stay, and connected agents whose certificate is
 * now refused (revoked) are cut off. A bad file keeps the running material.
 */
export function reloadAgentTls(tls: ServerTls, gateway: AgentGateway | null, log: Logger, why: string): void {
  try {
    tls.reload();
  } catch (err) {
    log.error({ why, err: (err as Error).message }, 'TLS reload failed; still using the previous certificates and CRL');
    return;
  }
  const dropped = gateway?.recheckCertificates() ?? [];
  log.info({ why, crlNextUpdate: tls.crlNextUpdate?.toISOString(), dropped }, 'TLS certificates and CRL reloaded');
}

/** Re-reads the HTTPS API's certificate and key (api.cert/api.key, else the [tls] ones); a bad file keeps the one served. */
export function reloadApiCertificate(api: OperatorApi, log: Logger): void {
  try {
    api.reloadCertificate();
    log.info({ component: 'api' }, 'API certificate reloaded');
  } catch (err) {
    log.error({ component: 'api', err: (err as Error).message }, 'API certificate reload failed; still serving the previous one');
  }
}
