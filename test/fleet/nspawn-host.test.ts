/**
 * The harness's systemd hosts themselves (packages/testing/src/harness/nspawn.ts): they boot
 * from the cached rootfs inside a lab namespace, are driven through nsenter,
 * and leave nothing behind. Runs with SMGR_FLEET=1 (root, systemd-nspawn,
 * debootstrap; the first run builds the rootfs cache).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { bootNspawnHost, createNetLab, ensureRootfs, useCleanup, type Rootfs } from '@smgr/testing';

let rootfs: Rootfs;

before(async () => {
  rootfs = await ensureRootfs({ log: (m) => console.log(`# ${m}`) });
  console.log(`# rootfs ${rootfs.path} ${rootfs.built ? `built in ${rootfs.buildMs} ms` : 'from cache'}`);
});

test('a host boots systemd from the cached rootfs inside its lab namespace and answers on the lab network', async (t) => {
  const c = useCleanup(t);
  const lab = await createNetLab('nspawn-host', c);
  const netA = await lab.addHost('a');
  const netB = await lab.addHost('b');
  const a = await bootNspawnHost({ name: 'fleet-a', rootfs: rootfs.path, netnsPath: netA.nsPath });
  c.add(() => a.stop(), 'host a');
  const b = await bootNspawnHost({ name: 'fleet-b', rootfs: rootfs.path, netnsPath: netB.nsPath });
  c.add(() => b.stop(), 'host b');

  assert.equal(a.bootState, 'running', `host a booted ${a.bootState}: ${await a.systemctl('--failed').catch(String)}`);
  assert.equal((await a.exec(['hostname'])).stdout.trim(), 'fleet-a');
  assert.match((await a.exec(['ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout, new RegExp(`inet ${netA.address.replace(/\./g, '\\.')}/24`));
  // Each boot gets its own machine id: the cached tree has none.
  const idA = (await a.exec(['cat', '/etc/machine-id'])).stdout.trim();
  const idB = (await b.exec(['cat', '/etc/machine-id'])).stdout.trim();
  assert.match(idA, /^[0-9a-f]{32}$/);
  assert.notEqual(idA, idB);
  // Host to host over the bridge, from inside the namespaces (minbase has no ping: a TCP exchange).
  await b.exec(['systemd-run', '--unit=listen-test', 'python3', '-c', LISTEN_ONCE]);
  const got = await a.exec(['python3', '-c', connectOnce(netB.address)]);
  assert.equal(got.stdout.trim(), 'hello from b');
  // Writes go to the host's overlay, never into the shared cache.
  await a.exec(['sh', '-c', 'echo mine > /etc/smgr-fleet-probe']);
  assert.equal(readFileSync(`${a.root}/etc/smgr-fleet-probe`, 'utf8'), 'mine\n');
  assert.equal(existsSync(`${rootfs.path}/etc/smgr-fleet-probe`), false);
  assert.equal(existsSync(`${b.root}/etc/smgr-fleet-probe`), false);
});

test('a stopped host leaves no process and no mount behind', async (t) => {
  const c = useCleanup(t);
  const lab = await createNetLab('nspawn-stop', c);
  const net = await lab.addHost('s');
  const host = await bootNspawnHost({ name: 'fleet-s', rootfs: rootfs.path, netnsPath: net.nsPath });
  c.add(() => host.stop(), 'host');
  const root = host.root;
  const leader = host.leaderPid;
  await host.stop();
  await host.stop();
  assert.equal(existsSync(`/proc/${leader}`) && !readFileSync(`/proc/${leader}/stat`, 'utf8').includes(') Z '), false, 'init still running');
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), false, 'overlay still mounted');
  assert.equal(existsSync(root), false, 'overlay dir still there');
});

test('a host for a namespace that does not exist is refused before anything is mounted', async () => {
  await assert.rejects(
    bootNspawnHost({ name: 'fleet-x', rootfs: rootfs.path, netnsPath: '/run/netns/smgr-no-such-namespace' }),
    /network namespace \/run\/netns\/smgr-no-such-namespace does not exist/,
  );
  await assert.rejects(bootNspawnHost({ name: 'Bad Name', rootfs: rootfs.path, netnsPath: '/run/netns/x' }), /must match/);
});

const LISTEN_ONCE = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 7999)); s.listen(1)
c, _ = s.accept(); c.sendall(b'hello from b\\n'); c.close()
`;

function connectOnce(address: string): string {
  return `
import socket, time
for i in range(100):
    try:
        s = socket.create_connection(('${address}', 7999), timeout=5); print(s.recv(100).decode().strip()); break
    except ConnectionRefusedError:
        time.sleep(0.1)
`;
}
