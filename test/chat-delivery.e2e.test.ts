import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestApp } from './support/app.js';
import { ADMIN_PASSWORD } from './support/app.js';
import { chatUser, type ChatTestBed, type RecordingClient, startChatTestBed } from './support/chat-app.js';
import { publishTo } from './support/publish.js';
import { until } from './support/until.js';

/*
 * Chat as a delivery method through the real escalation: off by default, switched on only with a
 * destination, then a notification nobody read goes to every destination, recorded in the
 * delivery log; a 429 is waited out for its Retry-After by a rescheduled job; a broadcast's
 * `deliver` may name it.
 */
let bed: ChatTestBed;

beforeAll(async () => {
  bed = await startChatTestBed({ ESCALATE_AFTER_MS: '300' });
});
afterAll(async () => {
  await bed?.close();
});

const chatLog = (c: RecordingClient, id: string) =>
  until(
    `the chat delivery of ${id}`,
    async () =>
      ((await c.get(`/notifications/${id}/deliveries`)).body as Array<Record<string, unknown>>).filter(
        (r) => r.method === 'chat',
      ),
    (rows) => rows.length > 0 && rows.every((r) => r.status !== 'scheduled' && r.status !== 'sending'),
  );

describe('chat as a delivery method', () => {
  it('is off by default, and switching it on without a destination is 400', async () => {
    const c = bed.client();
    await c.signUp('chat-delivery-none@example.com');
    const prefs = await c.get('/preferences');
    expect(prefs.body.delivery.order.chat).toBe(false);
    const res = await c.put('/preferences', { delivery: { order: { chat: true } } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('chat destination');
    expect((await c.get('/preferences')).body.delivery.order.chat).toBe(false);
  });

  it('switched on, an unread notification goes to every destination once, in the delivery log as sent', async () => {
    const u = await chatUser(bed, 'slack', 'teams');
    expect((await u.c.put('/preferences', { delivery: { order: { chat: true } } })).status).toBe(200);
    const row = await publishTo({ app: bed.app } as TestApp, u.id, { title: 'Order shipped', body: 'On its way' });
    const [slack, teams] = await Promise.all(u.paths.map((p) => bed.chat.nth(p, 2)));
    expect(slack.body.text).toBe('Order shipped');
    expect(teams.body.attachments[0].content.body.map((b: { text: string }) => b.text)).toStrictEqual([
      'Order shipped',
      'On its way',
    ]);
    expect(await chatLog(u.c, String(row.id))).toMatchObject([{ method: 'chat', status: 'sent', attempts: 1 }]);
    for (const p of u.paths) expect(bed.chat.to(p)).toHaveLength(2);
  });

  it("in the user's language: the destination's test message and a digest's count (de)", async () => {
    const c: RecordingClient = bed.client();
    const u = await c.signUp('chat-delivery-de@example.com');
    expect((await c.put('/preferences', { locale: 'de' })).status).toBe(200);
    const path = '/discord/de';
    expect((await c.post('/contacts/chat', { kind: 'discord', url: `${bed.chat.origin}${path}` })).status).toBe(201);
    const connected = await bed.chat.nth(path, 1);
    expect(connected.body.content).toMatch(/^Verbunden: /);
    expect(connected.body.embeds[0].title).toBe('Benachrichtigungen kommen hier an');
    expect((await c.put('/preferences', { delivery: { order: { chat: true } } })).status).toBe(200);
    await publishTo({ app: bed.app } as TestApp, u.id, { title: 'Erste' });
    await publishTo({ app: bed.app } as TestApp, u.id, { title: 'Zweite' });
    const digest = await bed.chat.nth(path, 2);
    expect(digest.body.content).toMatch(/^2 neue Benachrichtigungen: /);
  });

  it('a 429 is waited out for its Retry-After (a rescheduled job); the other destination is not posted twice', async () => {
    const u = await chatUser(bed, 'slack', 'discord');
    const [slack, discord] = u.paths;
    bed.chat.script(discord, [{ status: 429, headers: { 'retry-after': '2' } }]);
    expect((await u.c.put('/preferences', { delivery: { order: { chat: true } } })).status).toBe(200);
    const row = await publishTo({ app: bed.app } as TestApp, u.id, { title: 'Limited' });
    const refused = await bed.chat.nth(discord, 2);
    const retried = await bed.chat.nth(discord, 3);
    expect(retried.at - refused.at).toBeGreaterThanOrEqual(1900);
    expect(retried.body.embeds[0].title).toBe('Limited');
    expect(await chatLog(u.c, String(row.id))).toMatchObject([{ method: 'chat', status: 'sent', attempts: 2 }]);
    expect(bed.chat.to(slack)).toHaveLength(2);
  });

  it('a 404 removes the destination and the delivery fails with that reason', async () => {
    const u = await chatUser(bed, 'discord');
    bed.chat.script(u.paths[0], [{ status: 404 }]);
    expect((await u.c.put('/preferences', { delivery: { order: { chat: true } } })).status).toBe(200);
    const row = await publishTo({ app: bed.app } as TestApp, u.id, { title: 'Nobody there' });
    expect(await chatLog(u.c, String(row.id))).toMatchObject([
      { method: 'chat', status: 'failed', error: 'chat service answered 404: destination removed' },
    ]);
    expect((await u.c.get('/contacts')).body.chat).toStrictEqual([]);
  });

  it("a broadcast's deliver may name chat", async () => {
    const u = await chatUser(bed, 'slack');
    expect((await u.c.put('/preferences', { delivery: { system: { chat: true } } })).status).toBe(200);
    const admin = bed.client();
    expect((await admin.login('admin@example.com', ADMIN_PASSWORD)).status).toBe(200);
    const res = await admin.post('/admin/broadcasts', {
      title: 'Maintenance tonight',
      body: 'From 22:00',
      audience: { userIds: [u.id] },
      deliver: ['chat'],
    });
    expect(res.status).toBe(201);
    expect((await bed.chat.nth(u.paths[0], 2)).body.text).toBe('Maintenance tonight');
  });
});
