import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StreamHub } from '../src/notifications/stream-hub.js';
import type { TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { startWithAdmin } from './support/shop.js';
import { heldOpen } from './support/held-open.js';
import { openStream } from './support/sse.js';

/**
 * Issue 13: a stream whose session was loaded just before a logout or role
 * change but registered just after the revocation must not keep its old
 * rights. The open is held exactly in that window (between the guard's
 * session load and the hub registration) while the revocation happens.
 */
describe('a revocation between a stream’s session load and its registration', () => {
  let t: TestApp;
  let admin: Client;
  beforeAll(async () => ({ t, admin } = await startWithAdmin()));
  afterAll(() => t.close());

  it('with nothing revoked in the window, the held open proceeds to ready (the hook itself changes nothing)', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('window-control@example.com');
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    release();
    const stream = await opening;
    expect(stream.status).toBe(200);
    await stream.waitForEvent('ready');
    stream.close();
  });

  it('a logout in the window: the open is refused with 401 and no stream is registered', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('window-logout@example.com');
    const before = t.app.get(StreamHub).size;
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    expect((await c.post('/auth/logout')).status).toBe(204);
    release();
    const stream = await opening;
    expect(stream.status).toBe(401);
    expect(JSON.parse(stream.body)).toStrictEqual({ statusCode: 401, message: 'Authentication required' });
    expect(t.app.get(StreamHub).size).toBe(before);
  });

  it('a role change in the window: the open with the old role is refused; signing in again gives the new role', async () => {
    const c = new Client(t.baseUrl);
    const user = await c.signUp('window-role@example.com');
    const before = t.app.get(StreamHub).size;
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    expect((await admin.request('PATCH', `/admin/users/${user.id}`, { role: 'admin' })).status).toBe(200);
    release();
    const stream = await opening;
    expect(stream.status).toBe(401);
    expect(t.app.get(StreamHub).size).toBe(before);

    const again = new Client(t.baseUrl);
    expect((await again.login('window-role@example.com')).status).toBe(200);
    expect((await again.get('/auth/me')).body.role).toBe('admin');
    const fresh = await openStream(t.baseUrl, again.cookieHeader);
    expect(fresh.status).toBe(200);
    await fresh.waitForEvent('ready');
    fresh.close();
  });

  it('a disabled account in the window: refused as well', async () => {
    const c = new Client(t.baseUrl);
    const user = await c.signUp('window-disabled@example.com');
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    expect((await admin.request('PATCH', `/admin/users/${user.id}`, { disabled: true })).status).toBe(200);
    release();
    expect((await opening).status).toBe(401);
  });
});
