import { NotFoundError, RefusedError } from '@smgr/shared';
import type { AgentInfo } from '../agents/agent-info.js';

/** Which hosts an operation or rollout is for: a host list, labels, or both (AND). */
export interface HostSelector {
  hosts?: readonly string[];
  labels?: Readonly<Record<string, string>>;
}

/** What host selection reads: the agent registry. */
export interface HostDirectory {
  all(): AgentInfo[];
  get(hostId: string): AgentInfo | undefined;
  hostsManaging(service: string): string[];
}

const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * Resolves a selector to the hosts managing `service`, in update order: the
 * order of `hosts` when given, else host ids in natural order (h2 before h10).
 * With no hosts and no labels, every host managing the service is selected.
 *
 * @throws NotFoundError when no agent manages the service, or a named host is unknown
 * @throws RefusedError `HOST_NOT_MANAGING` (a named host does not manage the service),
 *   `SELECTOR_EMPTY` (nothing matches), `HOSTS_DISCONNECTED` (with `requireConnected`)
 */
export function selectHosts(dir: HostDirectory, service: string, selector: HostSelector, opts: { requireConnected: boolean }): string[] {
  const managing = new Set(dir.hostsManaging(service));
  if (managing.size === 0) {
    throw new NotFoundError(`no agent manages service ${JSON.stringify(service)}`, { context: { service } });
  }
  let chosen: string[];
  if (selector.hosts !== undefined && selector.hosts.length > 0) {
    chosen = [...new Set(selector.hosts)];
    const unknown = chosen.filter((h) => dir.get(h) === undefined);
    if (unknown.length > 0) {
      throw new NotFoundError(`unknown host(s): ${unknown.join(', ')}`, { context: { hosts: unknown } });
    }
    const foreign = chosen.filter((h) => !managing.has(h));
    if (foreign.length > 0) {
      throw new RefusedError('HOST_NOT_MANAGING', `host(s) ${foreign.join(', ')} do not manage service ${JSON.stringify(service)}`, {
        context: { hosts: foreign, service },
      });
    }
  } else {
    chosen = [...managing].sort(naturalOrder);
  }
  const labels = Object.entries(selector.labels ?? {});
  if (labels.length > 0) {
    chosen = chosen.filter((h) => {
      const own = dir.get(h)?.labels ?? {};
      return labels.every(([k, v]) => own[k] === v);
    });
  }
  if (chosen.length === 0) {
    throw new RefusedError('SELECTOR_EMPTY', `no host managing ${JSON.stringify(service)} matches the selector`, {
      context: { service, selector },
    });
  }
  if (opts.requireConnected) {
    const down = chosen.filter((h) => dir.get(h)?.connected !== true);
    if (down.length > 0) {
      throw new RefusedError('HOSTS_DISCONNECTED', `host(s) not connected: ${down.join(', ')}`, { context: { hosts: down } });
    }
  }
  return chosen;
}
