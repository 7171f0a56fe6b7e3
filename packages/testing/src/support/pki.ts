/**
 * Throwaway smgr CAs for tests that run the daemons on TLS, and the [tls]
 * section that points a daemon at a certificate issued from one.
 */
import { join } from 'node:path';
import { initCa, type InitCaOptions } from '@smgr/shared/pki';
import { makeTempDir, type Cleanup } from '../harness/index.js';

/** A new CA in its own temp dir (removed by `cleanup`); its dir, as `smgr pki init` makes it. */
export async function tempPki(cleanup: Cleanup, label: string, opts: InitCaOptions = {}): Promise<string> {
  const tmp = await makeTempDir(label);
  cleanup.add(() => tmp.remove(), `${label} temp dir`);
  const dir = join(tmp.path, 'pki');
  await initCa(dir, opts);
  return dir;
}

/** The [tls] settings of a daemon using `name`'s certificate and key from `pki`, checking peers against its CA. */
export function tlsSection(pki: string, name: string): { insecure: false; ca: string; cert: string; key: string } {
  return { insecure: false, ca: join(pki, 'ca.pem'), cert: join(pki, `${name}.pem`), key: join(pki, `${name}.key`) };
}

/** The controller settings of a controller named `id` that serves its certificate `id` from `pki`. */
export function controllerIdentity(pki: string, id: string): { controller: { id: string }; tls: ReturnType<typeof tlsSection> } {
  return { controller: { id }, tls: tlsSection(pki, id) };
}
