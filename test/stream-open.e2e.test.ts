import { describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { heldOpen } from './support/held-open.js';
import { sharedTestApp } from './support/app.js';
import { Client } from './support/http.js';
import { publishTo } from './support/publish.js';
import { openStream } from './support/sse.js';

/**
 * Issue 24: an open reads its session, its user and where its stream starts in
 * one round trip, before the stream is registered with the hub. What could
 * slip in between that read and the registration (a revocation: see
 * stream-revocation-window.e2e.test.ts; a notification fanned out: here) must
 * not cost the stream anything.
 */
describe('a stream open', () => {
  const t = sharedTestApp();

  it('reads its session and its starting point in one round trip', async () => {
    const clients: Client[] = [];
    for (const name of ['one', 'two', 'three']) {
      const c = new Client(t.baseUrl);
      await c.signUp(`round-trip-${name}@example.com`);
      clients.push(c);
    }
    const db = t.app.get(DataSource);
    const query = db.query.bind(db);
    const reads: string[] = [];
    // Every statement that reads a session: the open's lookup, and a second read after the
    // registration if there were one (not the retention job's DELETE of expired ones).
    db.query = ((sql: string, ...rest: unknown[]) => {
      if (/^\s*SELECT\b/.test(sql) && /\bsessions\b/.test(sql)) reads.push(sql);
      return (query as (...a: unknown[]) => unknown)(sql, ...rest);
    }) as typeof db.query;
    try {
      for (const c of clients) {
        const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
        await s.waitForEvent('ready');
        s.close();
      }
    } finally {
      db.query = query;
    }
    expect(reads).toHaveLength(clients.length);
  });

  it('a notification fanned out between its read and its registration: past the ready cursor, it is on the stream once', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('window-live@example.com');
    const first = await openStream(t.baseUrl, c.cookieHeader);
    await first.waitForEvent('ready');
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    const meanwhile = await publishTo(t, id, { title: 'meanwhile' });
    // The hub has fanned it out: the user's other stream has it.
    await first.waitForNotifications(1);
    release();
    const s = await opening;
    const ready = await s.waitForEvent('ready');
    const after = await publishTo(t, id, { title: 'after' });
    await s.until(() => s.notifications.some((e) => e.id === String(after.id)), 'the later notification');
    const cursor = BigInt(JSON.parse(ready.data).cursor as string);
    const owed = [meanwhile, after].map((r) => String(r.id)).filter((n) => BigInt(n) > cursor);
    expect(s.notifications.map((e) => e.id)).toStrictEqual(owed);
    s.close();
    first.close();
  });

  it('the same with a Last-Event-ID: the notification is replayed once', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('window-replay@example.com');
    const first = await openStream(t.baseUrl, c.cookieHeader);
    const cursor = JSON.parse((await first.waitForEvent('ready')).data).cursor as string;
    const { opening, release } = await heldOpen(t, c.cookieHeader, { lastEventId: cursor });
    const meanwhile = await publishTo(t, id, { title: 'meanwhile' });
    await first.waitForNotifications(1);
    release();
    const s = await opening;
    expect(JSON.parse((await s.waitForEvent('ready')).data).cursor).toBe(cursor);
    const after = await publishTo(t, id, { title: 'after' });
    await s.until(() => s.notifications.some((e) => e.id === String(after.id)), 'the later notification');
    expect(s.notifications.map((e) => e.id)).toStrictEqual([String(meanwhile.id), String(after.id)]);
    s.close();
    first.close();
  });
});
