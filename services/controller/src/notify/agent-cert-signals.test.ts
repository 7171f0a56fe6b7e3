import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentCertSignals } from './condition-checks.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 11, 1);

test('agent certificates: within the window a warning, two days or less critical, expired says so; none seen or far off: nothing', () => {
  const { signals, keys } = agentCertSignals(
    [
      { hostId: 'soon', notAfter: new Date(now + 10 * DAY) },
      { hostId: 'very-soon', notAfter: new Date(now + DAY) },
      { hostId: 'gone', notAfter: new Date(now - DAY) },
      { hostId: 'fine', notAfter: new Date(now + 60 * DAY) },
      { hostId: 'plaintext', notAfter: null },
    ],
    now,
    14,
  );
  assert.deepEqual(
    signals.map((s) => (s.op === 'fire' ? [s.hostId, s.severity, s.event] : null)),
    [
      ['soon', 'warning', 'cert_expiry'],
      ['very-soon', 'critical', 'cert_expiry'],
      ['gone', 'critical', 'cert_expiry'],
    ],
  );
  assert.match(signals[2]!.op === 'fire' ? signals[2]!.message : '', /agent gone expired on 2026-11-30T00:00:00\.000Z/);
  // The key holds the expiry: a renewed certificate is another key, so the old alert resolves.
  assert.equal(keys[0], `cert_expiry:agent:soon:${now + 10 * DAY}`);
});
