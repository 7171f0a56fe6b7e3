import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@smgr/shared';
import { checkInsecureListeners, isLoopbackHost } from './listen-policy.js';

const cfg = (o: { grpc?: string; api?: string; tls?: boolean; apiInsecure?: boolean; allow?: boolean }) => ({
  source: '/etc/smgr/controller.ini',
  controller: { grpcListen: o.grpc ?? '127.0.0.1:7443', apiListen: o.api ?? '127.0.0.1:7080', allowInsecureRemote: o.allow ?? false } as never,
  tls: { insecure: o.tls ?? true } as never,
  api: { enabled: true, insecure: o.apiInsecure ?? true } as never,
});

test('loopback hosts are 127.0.0.0/8, ::1 and localhost; anything else is remote', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '[::1]', '::1', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '', '[::]', '10.0.0.1', 'ctl.example.org', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
});

test('plaintext listeners on a non-loopback address are a config error naming the key and the fix, unless allowed', () => {
  assert.doesNotThrow(() => checkInsecureListeners(cfg({})));
  assert.doesNotThrow(
    () => checkInsecureListeners(cfg({ grpc: '0.0.0.0:7443', tls: false, api: '0.0.0.0:7080', apiInsecure: false })),
    'TLS may listen anywhere',
  );
  const err = (() => {
    try {
      checkInsecureListeners(cfg({ grpc: '0.0.0.0:7443', api: '[::]:7080' }));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(
    err.details.map((d) => [d.key, d.value]),
    [
      ['controller.grpc_listen', '0.0.0.0:7443'],
      ['controller.api_listen', '[::]:7080'],
    ],
  );
  assert.match(
    err.message,
    /controller\.grpc_listen = "0\.0\.0\.0:7443": tls\.insecure = true: plaintext may listen on loopback only .* set controller\.allow_insecure_remote = true/,
  );
  assert.doesNotThrow(() => checkInsecureListeners(cfg({ grpc: '0.0.0.0:7443', api: '[::]:7080', allow: true })));
});
