import { readFileSync } from 'node:fs';
import type { CommandRecord } from '../exec/run-command.js';
import { isAlive } from '../exec/process-table.js';
import { internalRecord } from '../lifecycle/operation-context.js';

/** A pidfile is a number and a newline; anything much longer is not one. */
const MAX_PIDFILE_BYTES = 64;

/**
 * The watch's pidfile check, for a service with `pidfile =`: the process the
 * file names must be alive. It runs before the health check at every watch
 * check, so a process the agent did not start (and so cannot hear exit) is
 * still found dead within watch_interval even when its health check would
 * pass on another process of the same name. One read and one stat of /proc:
 * no process is started.
 */
export function pidfileCheck(path: string, now = Date.now()): CommandRecord {
  const argv = ['(pidfile)', path];
  let text: string;
  try {
    text = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, MAX_PIDFILE_BYTES);
  } catch (err) {
    return internalRecord('watch_check', argv, false, '', now, `cannot read pidfile ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const trimmed = text.trim();
  const pid = /^\d{1,10}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(pid) || pid <= 1) return internalRecord('watch_check', argv, false, '', now, `pidfile ${path} holds no pid`);
  return isAlive(pid)
    ? internalRecord('watch_check', argv, true, `pid ${pid} from ${path} is alive`, now)
    : internalRecord('watch_check', argv, false, '', now, `no process alive with pid ${pid} from pidfile ${path}`);
}
