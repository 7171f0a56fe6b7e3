/**
 * A real systemd notify socket for tests: a UNIX datagram socket (as PID 1
 * has) bound by a small python3 receiver (Node has no UNIX datagram sockets),
 * which prints each datagram as one JSON string line. Reading without
 * ancillary data closes the barrier fd that systemd-notify passes along,
 * which is how the manager acknowledges a message.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, makeTempDir, waitFor, type Cleanup } from '../harness/index.js';

const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("bound"), flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;

export const HAVE_SYSTEMD_NOTIFY = ['/usr/bin/systemd-notify', '/bin/systemd-notify'].some((p) => existsSync(p));

export interface NotifySocket {
  /** The socket's path: the NOTIFY_SOCKET to hand to the process under test. */
  path: string;
  /** Every notification line received so far, in order (BARRIER=1 left out). */
  messages(): string[];
  /** Waits until `pred(messages())` holds. */
  waitFor(pred: (m: string[]) => boolean, what: string, timeoutMs?: number): Promise<string[]>;
}

export async function startNotifySocket(cleanup: Cleanup): Promise<NotifySocket> {
  const dir = await makeTempDir('notify');
  cleanup.add(() => dir.remove(), 'notify socket dir');
  const path = join(dir.path, 'notify.sock');
  const receiver = ManagedProcess.start('python3', ['-c', RECEIVER, path], { name: 'notify-socket' });
  cleanup.add(() => receiver.stop('SIGKILL'), 'notify socket receiver');
  await receiver.waitForLine((l) => l === '"bound"', 30_000, 'notify socket bound');
  const messages = () =>
    receiver
      .lines()
      .filter((l) => l !== '"bound"')
      .flatMap((l) => (JSON.parse(l) as string).split('\n'))
      .filter((l) => l !== '' && l !== 'BARRIER=1');
  return {
    path,
    messages,
    waitFor: (pred, what, timeoutMs = 30_000) => waitFor(() => (pred(messages()) ? messages() : null), { timeoutMs, message: what }),
  };
}
