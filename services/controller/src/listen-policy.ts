import { isIP } from 'node:net';
import { ConfigError, type ConfigErrorDetail, type SmgrConfig } from '@smgr/shared';

/** Whether `host` (of a host:port listen address) only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h.startsWith('::ffff:127.');
}

/**
 * Plaintext listeners (tls.insecure for the agent port, api.insecure for the
 * API) are for a demo on one machine: on any other address they would carry
 * tokens and jobs in clear text, so they are refused (exit 78) unless
 * controller.allow_insecure_remote says the operator means it.
 */
export function checkInsecureListeners(cfg: Pick<SmgrConfig, 'controller' | 'tls' | 'api' | 'source'>): void {
  if (cfg.controller.allowInsecureRemote) return;
  const details: ConfigErrorDetail[] = [];
  const check = (key: string, listen: string, why: string) => {
    const host = listen.slice(0, listen.lastIndexOf(':'));
    if (isLoopbackHost(host)) return;
    details.push({
      file: cfg.source,
      key,
      value: listen,
      rule: `${why}: plaintext may listen on loopback only (127.0.0.1, ::1); use TLS, or set controller.allow_insecure_remote = true`,
    });
  };
  if (cfg.tls.insecure) check('controller.grpc_listen', cfg.controller.grpcListen, 'tls.insecure = true');
  if (cfg.api.enabled && cfg.api.insecure) check('controller.api_listen', cfg.controller.apiListen, 'api.insecure = true');
  if (details.length > 0) throw new ConfigError(details);
}
