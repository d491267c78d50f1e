import { describe, expect, it } from '@jest/globals';
import { runChaos } from './support/chaos.js';

// Runs its own redis-server (it restarts it), so it needs the binary, not TEST_REDIS_URL.
describe('chaos on the redis bus', () => {
  it('10,000 notifications, 8 publishers, hopping clients, kill -9, Redis restarted: lost 0, duplicated 0', async () => {
    const r = await runChaos({ bus: 'redis' });
    expect(r.published).toBe(10_000);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.outOfOrder).toBe(0);
    expect(r.delivered).toBe(r.expectedDeliveries);
    expect(r.reconnects > 0).toBeTruthy();
  });
});
