import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createNetLab, startRedis, useCleanup, waitFor } from './index.js';

/** A one-line TCP echo server/client in node, run inside a namespace. */
const SERVER = `require('net').createServer((s) => s.end('pong from ' + process.argv[1])).listen(7000, process.argv[1], () => console.log('listening'))`;
const CLIENT = `const s = require('net').connect(7000, process.argv[1]); s.setTimeout(1500, () => { console.log('timeout'); process.exit(3); }); s.on('data', (d) => { console.log(String(d)); process.exit(0); }); s.on('error', (e) => { console.log(e.code); process.exit(2); });`;

function namespaces(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}

test('hosts on a lab bridge reach each other, a downed link cuts one off, and stop() removes every namespace', async (t) => {
  const cleanup = useCleanup(t);
  const lab = await createNetLab('selftest', cleanup);
  const h1 = await lab.addHost('h1');
  const h2 = await lab.addHost('h2');
  assert.match(lab.subnet, /^10\.2(?:[0-4]\d|5[0-5])\.\d{1,3}\.0\/24$/);
  assert.equal(h1.nsPath, `/run/netns/${lab.id}-h1`);
  assert.notEqual(h1.address, h2.address);

  const server = h1.spawn(process.execPath, ['-e', SERVER, h1.address], { name: 'echo-server' });
  await server.waitForLine((l) => l === 'listening', 10_000, 'echo server listening');
  const { stdout } = await h2.exec(process.execPath, ['-e', CLIENT, h1.address]);
  assert.equal(stdout.trim(), `pong from ${h1.address}`);

  await h1.linkDown();
  await assert.rejects(h2.exec(process.execPath, ['-e', CLIENT, h1.address]), /Command failed/);
  await h1.linkUp();
  await waitFor(async () => (await h2.exec(process.execPath, ['-e', CLIENT, h1.address])).stdout.includes('pong'), {
    timeoutMs: 10_000,
    message: 'h2 reaches h1 again after linkUp',
  });

  assert.ok(namespaces().includes(lab.bridgeNs));
  await lab.stop();
  assert.equal(server.running, false, 'processes spawned in the lab are stopped');
  assert.ok(!namespaces().includes(lab.id), 'no namespace of the lab is left');
});

test('a process inside a namespace reaches the throwaway Redis through its UNIX socket', async (t) => {
  const cleanup = useCleanup(t);
  const redis = await startRedis();
  cleanup.add(() => redis.stop(), 'redis');
  if (redis.external) return t.skip('SMGR_TEST_REDIS_URL: no socket');
  const lab = await createNetLab('socket', cleanup);
  const h = await lab.addHost('db-client');
  const { stdout } = await h.exec('redis-cli', ['-s', redis.socketPath!, 'PING']);
  assert.equal(stdout.trim(), 'PONG');
  // ... while the TCP port on the root namespace's loopback is out of reach from inside.
  await assert.rejects(h.exec('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), 'PING']));
});

test('host names that are not short lowercase words are refused', async (t) => {
  const cleanup = useCleanup(t);
  const lab = await createNetLab('names', cleanup);
  await assert.rejects(lab.addHost('Bad Name'), /must match/);
  await assert.rejects(lab.addHost('much-too-long-name'), /must match/);
  await lab.addHost('ok');
  await assert.rejects(lab.addHost('ok'), /already exists/);
});
