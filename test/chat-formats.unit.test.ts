import { describe, expect, it } from '@jest/globals';
import { chatMessage, clip, DIGEST_ITEMS, slackEscape } from '../src/delivery/methods/chat/chat-formats.js';

const inboxUrl = 'https://notify.example.com/';
const one = { items: [{ title: 'Order #12 shipped', body: 'It left the warehouse.' }], inboxUrl };
const many = (n: number, title = (i: number) => `Notification ${i}`, body = (i: number) => `Body ${i}`) => ({
  items: Array.from({ length: n }, (_, i) => ({ title: title(i), body: body(i) })),
  inboxUrl,
});

describe('Slack', () => {
  it('is text and Block Kit: a mrkdwn section with the title and body, a button to the inbox', () => {
    expect(chatMessage('slack', one)).toStrictEqual({
      text: 'Order #12 shipped',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*Order #12 shipped*\nIt left the warehouse.' } },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Open your inbox' },
              url: inboxUrl,
              style: 'primary',
            },
          ],
        },
      ],
    });
  });

  it('escapes & < > (no <!channel> mention, no link smuggled in), and nothing else', () => {
    const m = chatMessage('slack', {
      items: [{ title: '<!channel> & <https://evil|x>', body: 'a > b "q"' }],
      inboxUrl,
    });
    expect(m.text).toBe('&lt;!channel&gt; &amp; &lt;https://evil|x&gt;');
    expect(JSON.stringify(m.blocks)).not.toContain('<');
    expect(slackEscape(`"'*_~`)).toBe(`"'*_~`);
  });

  it("shows a notification's links as buttons before the inbox's", () => {
    const m = chatMessage('slack', {
      items: [{ title: 'T', body: 'B', links: [{ label: 'Track it', url: 'https://track.example/1' }] }],
      inboxUrl,
    }) as { blocks: Array<{ type: string; elements?: unknown[] }> };
    expect(m.blocks[1].elements).toStrictEqual([
      { type: 'button', text: { type: 'plain_text', text: 'Track it' }, url: 'https://track.example/1' },
      { type: 'button', text: { type: 'plain_text', text: 'Open your inbox' }, url: inboxUrl },
    ]);
  });

  it('digests several into one message: a heading, a section each (at most 10), the rest counted', () => {
    const m = chatMessage('slack', many(12)) as { text: string; blocks: Array<Record<string, unknown>> };
    expect(m.text).toBe('12 new notifications: Notification 0');
    expect(m.blocks[0]).toStrictEqual({ type: 'section', text: { type: 'mrkdwn', text: '*12 new notifications*' } });
    expect(m.blocks.filter((b) => b.type === 'section')).toHaveLength(1 + DIGEST_ITEMS);
    expect(m.blocks.at(-2)).toStrictEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'and 2 more in your inbox' }],
    });
    expect(m.blocks.at(-1)?.type).toBe('actions');
  });

  it("keeps a section under Slack's 3,000 characters", () => {
    const m = chatMessage('slack', { items: [{ title: 'T', body: '&'.repeat(5000) }], inboxUrl }) as {
      blocks: Array<{ text?: { text: string } }>;
    };
    expect(m.blocks[0].text?.text.length).toBe(3000);
  });
});

describe('Discord', () => {
  it('is content and one embed with title, description and the inbox link; mentions are not parsed', () => {
    expect(chatMessage('discord', one)).toStrictEqual({
      content: `New notification: ${inboxUrl}`,
      embeds: [{ title: 'Order #12 shipped', description: 'It left the warehouse.', url: inboxUrl }],
      allowed_mentions: { parse: [] },
    });
  });

  it("respects Discord's limits: title 256, description 4,096, 6,000 over all embeds, at most 10", () => {
    const single = chatMessage('discord', {
      items: [{ title: 't'.repeat(300), body: 'b'.repeat(5000) }],
      inboxUrl,
    }) as { embeds: Array<{ title: string; description: string }> };
    expect(single.embeds[0].title).toHaveLength(256);
    expect(single.embeds[0].title.endsWith('…')).toBe(true);
    expect(single.embeds[0].description).toHaveLength(4096);

    const m = chatMessage(
      'discord',
      many(
        15,
        () => 't'.repeat(300),
        () => 'b'.repeat(5000),
      ),
    ) as { content: string; embeds: Array<{ title: string; description: string }> };
    expect(m.embeds).toHaveLength(DIGEST_ITEMS);
    const total = m.embeds.reduce((n, e) => n + e.title.length + e.description.length, 0);
    expect(total).toBeLessThanOrEqual(6000);
    expect(m.content).toBe(`15 new notifications (10 shown, 5 more in your inbox): ${inboxUrl}`);
  });

  it('counts characters, not UTF-16 units, and never splits a surrogate pair', () => {
    expect(clip('😀'.repeat(300), 256)).toBe(`${'😀'.repeat(255)}…`);
  });
});

describe('Teams (Workflows)', () => {
  it('is a message with one Adaptive Card 1.4: TextBlocks and an Action.OpenUrl to the inbox', () => {
    expect(chatMessage('teams', one)).toStrictEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              {
                type: 'TextBlock',
                text: 'Order #12 shipped',
                wrap: true,
                weight: 'Bolder',
                size: 'Medium',
                separator: false,
              },
              { type: 'TextBlock', text: 'It left the warehouse.', wrap: true, spacing: 'Small' },
            ],
            actions: [{ type: 'Action.OpenUrl', title: 'Open your inbox', url: inboxUrl }],
          },
        },
      ],
    });
  });

  it('digests several: a heading, then each title and body', () => {
    const m = chatMessage('teams', many(3)) as {
      attachments: Array<{ content: { body: Array<{ text: string }> } }>;
    };
    expect(m.attachments[0].content.body.map((b) => b.text)).toStrictEqual([
      '3 new notifications',
      'Notification 0',
      'Body 0',
      'Notification 1',
      'Body 1',
      'Notification 2',
      'Body 2',
    ]);
  });
});
