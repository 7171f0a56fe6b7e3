import type { Hello } from '@smgr/shared';

const HOST_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const MAX_SERVICES = 10_000;
const MAX_NAME = 255;

/** Returns why a Hello is unacceptable, or null. */
export function validateHello(h: Hello): string | null {
  if (!HOST_ID_RE.test(h.hostId)) return `host_id ${JSON.stringify(h.hostId.slice(0, 300))} is not a valid host name`;
  if (h.services.length > MAX_SERVICES) return `too many services (${h.services.length} > ${MAX_SERVICES})`;
  for (const s of h.services) {
    if (s.name.length === 0 || s.name.length > MAX_NAME) return 'a service name is empty or longer than 255 characters';
  }
  for (const [k, v] of Object.entries(h.labels)) {
    if (k.length === 0 || k.length > MAX_NAME || v.length > MAX_NAME) return `label ${JSON.stringify(k.slice(0, 50))} is invalid`;
  }
  if (h.agentVersion.length > 64) return 'agent_version is longer than 64 characters';
  return null;
}
