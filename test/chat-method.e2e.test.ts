import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChatMethod } from '../src/delivery/methods/chat/chat.method.js';
import type { TestApp } from './support/app.js';
import { chatUser, type ChatTestBed, startChatTestBed } from './support/chat-app.js';
import { publishTo } from './support/publish.js';

/*
 * The chat sender against the test chat services: one message per run per destination (a digest
 * when several), a 429 pauses that destination until its Retry-After and the run is retried
 * without posting twice to a destination that took it, 5xx is retried, 404/410 removes the
 * destination.
 */
let bed: ChatTestBed;
let sender: ChatMethod;

beforeAll(async () => {
  bed = await startChatTestBed();
  sender = bed.app.get(ChatMethod);
});
afterAll(async () => {
  await bed?.close();
});

const publish = (userId: string, title: string) =>
  publishTo({ app: bed.app } as TestApp, userId, { title, body: `${title} body` });
const destinations = async (userId: string) =>
  (await bed.db.query(`SELECT id::text, paused_until FROM chat_destinations WHERE user_id = $1 ORDER BY id`, [userId]))
    .rows;

describe('ChatMethod.run', () => {
  it('posts one message per destination: the notification alone, or a digest of several', async () => {
    const u = await chatUser(bed, 'slack', 'discord', 'teams');
    const one = await publish(u.id, 'Only one');
    expect(await sender.run(u.id, [one])).toStrictEqual({ status: 'sent' });
    const [slack, discord, teams] = u.paths;
    expect(bed.chat.to(slack)[1].body.text).toBe('Only one');
    expect(bed.chat.to(discord)[1].body.embeds).toStrictEqual([
      { title: 'Only one', description: 'Only one body', url: 'https://notify.example.com/' },
    ]);
    expect(bed.chat.to(teams)[1].body.attachments[0].content.body[0].text).toBe('Only one');

    const rows = [await publish(u.id, 'First'), await publish(u.id, 'Second'), await publish(u.id, 'Third')];
    expect(await sender.run(u.id, rows)).toStrictEqual({ status: 'sent' });
    for (const path of u.paths) expect(bed.chat.to(path)).toHaveLength(3);
    expect(bed.chat.to(slack)[2].body.text).toBe('3 new notifications: Third');
    expect(bed.chat.to(discord)[2].body.embeds.map((e: { title: string }) => e.title)).toStrictEqual([
      'Third',
      'Second',
      'First',
    ]);
  });

  it("a 429 pauses that destination for its Retry-After and the run is retried; the other one's message is not posted again", async () => {
    const u = await chatUser(bed, 'slack', 'discord');
    const [slack, discord] = u.paths;
    bed.chat.script(discord, [{ status: 429, headers: { 'retry-after': '30' } }]);
    const row = await publish(u.id, 'Rate limited');
    const first = await sender.run(u.id, [row]);
    expect(first).toStrictEqual({
      status: 'retry',
      error: 'chat service answered 429',
      retryAfterMs: expect.any(Number),
    });
    expect((first as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(28_000);
    expect((first as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(30_000);
    const [, paused] = await destinations(u.id);
    expect(paused.paused_until.getTime()).toBeGreaterThan(Date.now() + 28_000);

    // Retried before the pause is over: nothing is posted, and it waits again.
    const early = await sender.run(u.id, [row]);
    expect(early).toMatchObject({ status: 'retry' });
    expect(bed.chat.to(discord)).toHaveLength(2);
    expect(bed.chat.to(slack)).toHaveLength(2);

    // The pause over (moved into the past rather than waited out): Discord gets it, Slack not twice.
    await bed.db.query(`UPDATE chat_destinations SET paused_until = now() - interval '1 second' WHERE id = $1`, [
      paused.id,
    ]);
    expect(await sender.run(u.id, [row])).toStrictEqual({ status: 'sent' });
    expect(bed.chat.to(discord)).toHaveLength(3);
    expect(bed.chat.to(discord)[2].body.embeds[0].title).toBe('Rate limited');
    expect(bed.chat.to(slack)).toHaveLength(2);
    expect((await bed.db.query(`SELECT * FROM chat_destination_sent`)).rows).toStrictEqual([]);
  });

  it("a 429 with Discord's JSON retry_after and no header waits that long", async () => {
    const u = await chatUser(bed, 'discord');
    bed.chat.script(u.paths[0], [
      { status: 429, headers: { 'content-type': 'application/json' }, body: '{"retry_after": 4.5, "global": false}' },
    ]);
    const outcome = (await sender.run(u.id, [await publish(u.id, 'x')])) as { retryAfterMs: number };
    expect(outcome.retryAfterMs).toBeGreaterThan(3000);
    expect(outcome.retryAfterMs).toBeLessThanOrEqual(4500);
  });

  it('5xx is retried by backoff (no wait of its own), then sent', async () => {
    const u = await chatUser(bed, 'teams');
    bed.chat.script(u.paths[0], [{ status: 503 }]);
    const row = await publish(u.id, 'Flaky');
    expect(await sender.run(u.id, [row])).toStrictEqual({
      status: 'retry',
      error: 'chat service answered 503',
      retryAfterMs: undefined,
    });
    expect(await sender.run(u.id, [row])).toStrictEqual({ status: 'sent' });
    expect(bed.chat.to(u.paths[0])).toHaveLength(3);
  });

  it('404 and 410 remove the destination; the others still get the message', async () => {
    const u = await chatUser(bed, 'slack', 'discord', 'teams');
    bed.chat.script(u.paths[0], [{ status: 404, body: 'no_service' }]);
    bed.chat.script(u.paths[1], [{ status: 410 }]);
    const row = await publish(u.id, 'Gone');
    expect(await sender.run(u.id, [row])).toStrictEqual({ status: 'sent' });
    expect(await destinations(u.id)).toHaveLength(1);
    expect(bed.chat.to(u.paths[2])).toHaveLength(2);

    bed.chat.script(u.paths[2], [{ status: 410 }]);
    expect(await sender.run(u.id, [await publish(u.id, 'Last')])).toStrictEqual({
      status: 'failed',
      error: 'chat service answered 410: destination removed',
    });
    expect(await destinations(u.id)).toStrictEqual([]);
    expect(await sender.run(u.id, [await publish(u.id, 'None')])).toStrictEqual({
      status: 'failed',
      error: 'no chat destination',
    });
  });

  it('another 4xx fails for good, and the destination stays', async () => {
    const u = await chatUser(bed, 'slack');
    bed.chat.script(u.paths[0], [{ status: 400, body: 'invalid_payload' }]);
    expect(await sender.run(u.id, [await publish(u.id, 'Bad')])).toStrictEqual({
      status: 'failed',
      error: 'chat service answered 400',
    });
    expect(await destinations(u.id)).toHaveLength(1);
  });
});
