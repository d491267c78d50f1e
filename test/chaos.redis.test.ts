import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from './support/chaos.js';

// Runs its own redis-server (it restarts it), so it needs the binary, not TEST_REDIS_URL.
describe('chaos on the redis bus', () => {
  it('10,000 notifications, 8 publishers, hopping clients, kill -9, Redis restarted: lost 0, duplicated 0', async () => {
    const r = await runChaos({ bus: 'redis' });
    assert.equal(r.published, 10_000);
    assert.equal(r.lost, 0);
    assert.equal(r.duplicated, 0);
    assert.equal(r.outOfOrder, 0);
    assert.equal(r.delivered, r.expectedDeliveries);
    assert.ok(r.reconnects > 0);
  });
});
