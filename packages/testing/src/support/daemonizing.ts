/**
 * A daemonizing service for the container tests: a shell service that writes
 * its name to an order file when it gets SIGTERM (so a test sees the order
 * in which services were stopped), and a start script that backgrounds it
 * and exits, as most daemons' init scripts do, leaving it an orphan.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes `dir/NAME` and `dir/start-NAME` under `root` (the file system the
 * service runs in, as seen from here: '' for this machine's, an overlay for a
 * container's); paths inside the scripts are as the service sees them.
 * Returns the start command.
 */
export async function writeDaemonizingService(root: string, dir: string, name: string, orderFile: string): Promise<string> {
  await mkdir(join(root, dir), { recursive: true });
  const service = join(dir, name);
  const start = join(dir, `start-${name}`);
  // `sleep 1 & wait`: a trapped SIGTERM interrupts the wait at once.
  await writeFile(join(root, service), `#!/bin/sh\ntrap 'echo ${name} >> ${orderFile}; exit 0' TERM\nwhile :; do sleep 1 & wait $!; done\n`);
  await writeFile(join(root, start), `#!/bin/sh\n${service} >/dev/null 2>&1 </dev/null &\nexit 0\n`);
  await Promise.all([chmod(join(root, service), 0o755), chmod(join(root, start), 0o755)]);
  return start;
}
