import { describe, expect, it } from '@jest/globals';
import { sharedTestApp } from './support/app.js';
import { Client } from './support/http.js';

/**
 * express-session wrote the session's expiry (an UPDATE) on every
 * authenticated request; it is now pushed forward at most every 5 minutes
 * per session and instance (TOUCH_INTERVAL_MS).
 */
describe('session touch', () => {
  const t = sharedTestApp();

  const expiryOf = async (userId: string): Promise<number> => {
    const { rows } = await t.db.query(`SELECT expire FROM sessions WHERE sess #>> '{passport,user}' = $1`, [userId]);
    expect(rows.length).toBe(1);
    return (rows[0].expire as Date).getTime();
  };

  it('requests within 5 minutes of the first do not rewrite the session row; the session stays valid about 7 days', async () => {
    const c = new Client(t.baseUrl);
    const user = await c.signUp('touch@example.com');
    expect((await c.get('/auth/me')).status).toBe(200);
    const first = await expiryOf(user.id);
    expect(Math.abs(first - (Date.now() + 7 * 24 * 3600 * 1000))).toBeLessThan(10 * 60 * 1000);
    // The store keeps the expiry to the second: only a request in a later second could move it.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (let i = 0; i < 3; i++) expect((await c.get('/auth/me')).status).toBe(200);
    expect(await expiryOf(user.id)).toBe(first);
  });
});
