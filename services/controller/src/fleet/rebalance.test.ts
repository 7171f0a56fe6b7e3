import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { agentsToMove } from './rebalance.js';

const c = (id: string, agents: number) => ({ id, agents, displaced: 0 });

describe('agentsToMove', () => {
  it('a controller above an even share moves the excess, bounded per tick', () => {
    // 3,000 agents on two controllers, a third just joined: the share is 1,000.
    assert.equal(agentsToMove('a', 1500, [c('a', 1500), c('b', 1500), c('c', 0)], 50), 50);
    assert.equal(agentsToMove('a', 1020, [c('a', 1020), c('b', 1000), c('c', 980)], 50), 20);
  });

  it('nobody moves at or below the share, with the share rounded up', () => {
    assert.equal(agentsToMove('a', 1000, [c('a', 1000), c('b', 1000), c('c', 1000)], 50), 0);
    // 10 agents over 3 controllers: a share of 4, so 4-3-3 is balanced.
    assert.equal(agentsToMove('a', 4, [c('a', 4), c('b', 3), c('c', 3)], 50), 0);
    assert.equal(agentsToMove('c', 0, [c('a', 5), c('b', 5), c('c', 0)], 50), 0);
  });

  it('a controller alone, one not yet in the live set, or a rate of 0 moves nobody', () => {
    assert.equal(agentsToMove('a', 100, [c('a', 100)], 50), 0);
    assert.equal(agentsToMove('z', 100, [c('a', 0), c('b', 0)], 50), 0);
    assert.equal(agentsToMove('a', 100, [c('a', 100), c('b', 0)], 0), 0);
  });

  it('uses its own live count rather than the one it last reported', () => {
    // It reported 100 a moment ago, but 60 of its agents have left since.
    assert.equal(agentsToMove('a', 40, [c('a', 100), c('b', 60)], 50), 0);
  });
});
