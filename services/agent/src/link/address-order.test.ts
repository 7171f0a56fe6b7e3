import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controllerOrder } from './address-order.js';

const ctl = ['ctl1:7443', 'ctl2:7443', 'ctl3:7443'];
const hosts = Array.from({ length: 3000 }, (_, i) => `web${i}`);

describe('controllerOrder', () => {
  it('spreads a fleet evenly over its controllers', () => {
    const first = new Map<string, number>();
    for (const h of hosts) {
      const a = controllerOrder(h, ctl, 'spread')[0]!;
      first.set(a, (first.get(a) ?? 0) + 1);
    }
    for (const a of ctl) assert.ok(Math.abs((first.get(a) ?? 0) - 1000) < 120, `${a}: ${first.get(a)} of 3000`);
  });

  it("spreads a dead controller's agents over the others rather than onto the next in the list", () => {
    const second = new Map<string, number>();
    for (const h of hosts) {
      const order = controllerOrder(h, ctl, 'spread');
      if (order[0] === 'ctl1:7443') second.set(order[1]!, (second.get(order[1]!) ?? 0) + 1);
    }
    const [a, b] = [second.get('ctl2:7443') ?? 0, second.get('ctl3:7443') ?? 0];
    assert.ok(a > 0.35 * (a + b) && b > 0.35 * (a + b), `ctl2 ${a}, ctl3 ${b}`);
  });

  it('gives a host the same order however the list is written, and every address once', () => {
    const order = controllerOrder('web7', ctl, 'spread');
    assert.deepEqual(controllerOrder('web7', [...ctl].reverse(), 'spread'), order);
    assert.deepEqual([...order].sort(), ctl);
    assert.deepEqual(controllerOrder('web7', [...ctl, 'ctl1:7443'], 'spread').length, 3);
  });

  it('keeps the written order with listed', () => {
    assert.deepEqual(controllerOrder('web7', ['b:1', 'a:1', 'b:1'], 'listed'), ['b:1', 'a:1']);
  });
});
