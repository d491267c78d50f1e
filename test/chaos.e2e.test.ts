import { describe, expect, it } from '@jest/globals';
import { runChaos } from './support/chaos.js';

describe('chaos on the postgres bus', () => {
  it('10,000 notifications, 8 publishers, hopping clients, kill -9, pg_terminate_backend: lost 0, duplicated 0', async () => {
    const r = await runChaos({ bus: 'postgres' });
    expect(r.published).toBe(10_000);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.outOfOrder).toBe(0);
    expect(r.delivered).toBe(r.expectedDeliveries);
    expect(r.reconnects > 0).toBeTruthy();
  });
});
