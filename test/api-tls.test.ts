import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { initCa, issueCert, renewCert } from '@smgr/shared/pki';
import { connect } from 'node:tls';
import { useServers, waitFor } from '@smgr/testing';
import { makeTempDir, useCleanup } from '@smgr/testing';
import { ROOT, uniqueServiceName } from '@smgr/testing/smgr';
import { startStack } from '@smgr/testing/stack';
import { apiPortOf, createTokenViaController } from '@smgr/testing/operator-api';

/** The API on HTTPS with a certificate from `smgr pki`, reached by the CLI trusting that CA. */
const CLI = resolve(ROOT, 'packages/cli/dist/main.js');

const servers = useServers();

function smgr(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** A CA, a controller certificate from it, and a stack whose API serves HTTPS with that certificate. */
async function httpsController(t: Parameters<typeof useCleanup>[0], service: string) {
  const cleanup = useCleanup(t);
  const pki = await makeTempDir('pki');
  cleanup.add(() => pki.remove(), 'pki dir');
  await initCa(pki.path);
  const cert = await issueCert(pki.path, 'ctl-test', { role: 'controller', sans: ['127.0.0.1', 'localhost'] });
  const stack = await startStack(cleanup, servers, {
    services: { [uniqueServiceName(service)]: { restart_strategy: 'process', start_command: 'true' } },
    controller: { api: { enabled: true, cert: cert.cert, key: cert.key }, controller: { api_listen: '127.0.0.1:0' } },
  });
  return { pki, cert, stack, port: await apiPortOf(stack.controller) };
}

describe('the API over HTTPS', () => {
  test('serves HTTPS with its certificate; the CLI trusts it with --ca and refuses it without', async (t) => {
    const { pki, stack, port } = await httpsController(t, 'tls');
    const listening = stack.controller.jsonLines().find((j) => j.msg === 'api listening');
    assert.equal(listening?.tls, true);
    const token = await createTokenViaController(stack.controllerConfig, 'tls-admin', 'admin');
    const env = { SMGR_CLI_URL: `https://127.0.0.1:${port}`, SMGR_CLI_TOKEN: token };

    const trusted = await smgr(['--ca', join(pki.path, 'ca.pem'), 'hosts', '--json'], env);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.deepEqual(
      JSON.parse(trusted.stdout).hosts.map((h: any) => h.hostId),
      ['host-a'],
    );

    const untrusted = await smgr(['hosts'], env);
    assert.equal(untrusted.code, 69);
    assert.match(untrusted.stderr, /TLS with https:\/\/127\.0\.0\.1:\d+ failed/);
    assert.match(untrusted.stderr, /--ca FILE/);

    const plain = await smgr(['status'], { ...env, SMGR_CLI_URL: `http://127.0.0.1:${port}` });
    assert.notEqual(plain.code, 0, 'plain HTTP to the HTTPS port does not work');
  });

  test('a renewed API certificate is served to new connections after SIGHUP, without a restart', async (t) => {
    const { pki, cert, stack, port } = await httpsController(t, 'tlsr');
    const served = () =>
      new Promise<string>((done, fail) => {
        const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          done(s.getPeerX509Certificate()?.serialNumber ?? '');
          s.end();
        });
        s.once('error', fail);
      });
    const before = await served();
    const renewed = await renewCert(pki.path, 'ctl-test');
    assert.equal(renewed.cert, cert.cert, 'renewed in place, same files');
    const pid = stack.controller.pid!;
    process.kill(pid, 'SIGHUP');
    await waitFor(() => stack.controller.jsonLines().some((j) => j.msg === 'API certificate reloaded'), { timeoutMs: 10_000, message: 'the reload logged' });
    const after = await served();
    assert.notEqual(after.toLowerCase(), before.toLowerCase(), 'a new certificate is served');
    assert.equal(before.toLowerCase().replace(/^0+/, ''), renewed.replacedSerial.toLowerCase().replace(/^0+/, ''), 'the old one was served before');
    assert.equal(stack.controller.pid, pid, 'the same process');
  });
});
