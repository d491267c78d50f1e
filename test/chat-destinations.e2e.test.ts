import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { type ChatTestBed, startChatTestBed } from './support/chat-app.js';

/*
 * Chat destinations (contract, "More channels: SMS and chat"): POST /contacts/chat stores a
 * Slack, Discord or Teams webhook only once it took a test message; the URL is checked by the
 * outbound rules against CHAT_WEBHOOK_ALLOWLIST and is a secret, never in an answer or a log.
 */
let bed: ChatTestBed;
/** Every secret part of a webhook URL used here: none may appear in an answer or a log line. */
const secrets: string[] = [];
const secretPath = (kind: string) => {
  const token = `tok${randomBytes(12).toString('hex')}`;
  secrets.push(token);
  return `/${kind}/${token}`;
};

beforeAll(async () => {
  bed = await startChatTestBed();
});
afterAll(async () => {
  await bed?.close();
});

const rowsOf = async (userId: string) =>
  (
    await bed.db.query(`SELECT id::text, kind, label, host FROM chat_destinations WHERE user_id = $1 ORDER BY id`, [
      userId,
    ])
  ).rows;

describe('POST /contacts/chat', () => {
  it("posts a test message in each kind's shape and stores the destination: 201 { id, kind, label, host }", async () => {
    const c = bed.client();
    const u = await c.signUp('chat-add@example.com');
    const paths = { slack: secretPath('slack'), discord: secretPath('discord'), teams: secretPath('teams') };

    const slack = await c.post('/contacts/chat', {
      kind: 'slack',
      url: `${bed.chat.origin}${paths.slack}`,
      label: 'Team',
    });
    expect(slack.status).toBe(201);
    expect(slack.body).toStrictEqual({ id: expect.any(String), kind: 'slack', label: 'Team', host: 'localhost' });
    const [toSlack] = bed.chat.to(paths.slack);
    expect(toSlack.headers['content-type']).toBe('application/json');
    expect(toSlack.body).toStrictEqual({ text: expect.any(String), blocks: expect.any(Array) });
    expect(JSON.stringify(toSlack.body)).toContain('https://notify.example.com/');

    const discord = await c.post('/contacts/chat', { kind: 'discord', url: `${bed.chat.origin}${paths.discord}` });
    expect(discord.status).toBe(201);
    expect(discord.body).toStrictEqual({
      id: expect.any(String),
      kind: 'discord',
      label: 'Discord',
      host: 'localhost',
    });
    expect(bed.chat.to(paths.discord)[0].body).toStrictEqual({
      content: expect.stringContaining('https://notify.example.com/'),
      embeds: [
        {
          title: 'Notifications will arrive here',
          description: expect.any(String),
          url: 'https://notify.example.com/',
        },
      ],
      allowed_mentions: { parse: [] },
    });

    const teams = await c.post('/contacts/chat', { kind: 'teams', url: `${bed.chat.origin}${paths.teams}` });
    expect(teams.status).toBe(201);
    expect(teams.body.label).toBe('Microsoft Teams');
    const card = bed.chat.to(paths.teams)[0].body;
    expect(card.type).toBe('message');
    expect(card.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.attachments[0].content.actions).toStrictEqual([
      { type: 'Action.OpenUrl', title: 'Open your inbox', url: 'https://notify.example.com/' },
    ]);

    const listed = [
      { id: slack.body.id, kind: 'slack', label: 'Team', host: 'localhost' },
      { id: discord.body.id, kind: 'discord', label: 'Discord', host: 'localhost' },
      { id: teams.body.id, kind: 'teams', label: 'Microsoft Teams', host: 'localhost' },
    ];
    expect(await rowsOf(u.id)).toStrictEqual(listed);
    expect((await c.get('/contacts')).body).toStrictEqual({ phone: null, chat: listed });
    // Nobody else's.
    const other = bed.client();
    await other.signUp('chat-add-other@example.com');
    expect((await other.get('/contacts')).body).toStrictEqual({ phone: null, chat: [] });
    // Sealed at rest: the URL is nowhere in the row.
    const stored = await bed.db.query(`SELECT url_sealed, url_digest FROM chat_destinations WHERE user_id = $1`, [
      u.id,
    ]);
    for (const row of stored.rows) {
      for (const s of secrets) {
        expect((row.url_sealed as Buffer).includes(s)).toBe(false);
      }
    }
  });

  it('refuses a destination that does not take the test message: 400 naming its status, nothing stored', async () => {
    const c = bed.client();
    const u = await c.signUp('chat-refused@example.com');
    for (const status of [403, 404, 500]) {
      const path = secretPath('slack');
      bed.chat.script(path, [{ status }]);
      const res = await c.post('/contacts/chat', { kind: 'slack', url: `${bed.chat.origin}${path}` });
      expect([status, res.status]).toStrictEqual([status, 400]);
      expect(res.body.message).toContain(String(status));
    }
    expect(await rowsOf(u.id)).toStrictEqual([]);
  });

  it('refuses URLs outside CHAT_WEBHOOK_ALLOWLIST without dialling them: 400, nothing stored', async () => {
    const c = bed.client();
    const u = await c.signUp('chat-ssrf@example.com');
    const before = bed.chat.received.length;
    const port = bed.chat.port;
    const urls = [
      `http://localhost:${port}/slack/x`, // not the allowed origin's scheme
      `https://127.0.0.1:${port}/slack/x`, // an IP literal (the allowed origin is by name)
      `https://[::1]:${port}/slack/x`,
      `https://user@localhost:${port}/slack/x`, // userinfo
      `https://@localhost:${port}/slack/x`,
      `https://localhost:${port + 1}/slack/x`, // another port
      `https://${bed.forbidden.host}/slack/x`,
      'https://2130706433/slack/x',
      'https://hooks.slack.com.evil.example/services/x',
      'https://chat.test.evil.example/x',
      'not a url',
      'javascript:alert(1)',
    ];
    for (const url of urls) {
      const res = await c.post('/contacts/chat', { kind: 'slack', url });
      expect([url, res.status]).toStrictEqual([url, 400]);
    }
    expect(bed.chat.received.length).toBe(before);
    expect(await rowsOf(u.id)).toStrictEqual([]);
  });

  it('refuses a name under an allowed pattern that resolves to a private address, after DNS: 400, never dialled', async () => {
    const c = bed.client();
    const u = await c.signUp('chat-private@example.com');
    for (const url of ['https://private.chat.test/x', 'https://six.chat.test/x']) {
      const res = await c.post('/contacts/chat', { kind: 'teams', url });
      expect([url, res.status]).toStrictEqual([url, 400]);
      expect(res.body.message).toContain('refused: private address');
    }
    expect(bed.dns.queries).toContain('private.chat.test');
    expect(bed.forbidden.connections).toBe(0);
    expect(await rowsOf(u.id)).toStrictEqual([]);
  });

  it('takes at most 5 per user; the same URL twice is refused', async () => {
    const c = bed.client();
    const u = await c.signUp('chat-five@example.com');
    const first = `${bed.chat.origin}${secretPath('discord')}`;
    expect((await c.post('/contacts/chat', { kind: 'discord', url: first })).status).toBe(201);
    const again = await c.post('/contacts/chat', { kind: 'discord', url: first });
    expect(again.status).toBe(400);
    expect(again.body.message).toContain('already');
    for (let i = 0; i < 4; i++) {
      expect(
        (await c.post('/contacts/chat', { kind: 'discord', url: `${bed.chat.origin}${secretPath('discord')}` })).status,
      ).toBe(201);
    }
    const sixth = secretPath('discord');
    const res = await c.post('/contacts/chat', { kind: 'discord', url: `${bed.chat.origin}${sixth}` });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('at most 5');
    expect(bed.chat.to(sixth)).toStrictEqual([]);
    expect(await rowsOf(u.id)).toHaveLength(5);
  });

  it('validates its body: 400 for an unknown kind, a missing URL, a bad label; 401 without a session', async () => {
    const c = bed.client();
    await c.signUp('chat-validate@example.com');
    const url = `${bed.chat.origin}/slack/v`;
    for (const body of [
      { kind: 'teamspeak', url },
      { kind: 'slack' },
      { kind: 'slack', url, label: '' },
      { kind: 'slack', url, label: 'x'.repeat(81) },
      { kind: 'slack', url, label: 'a\nb' },
      { kind: 'slack', url: 42 },
    ]) {
      expect([body, (await c.post('/contacts/chat', body)).status]).toStrictEqual([body, 400]);
    }
    expect(bed.chat.to('/slack/v')).toStrictEqual([]);
    const anonymous = bed.client();
    expect((await anonymous.post('/contacts/chat', { kind: 'slack', url })).status).toBe(401);
  });
});

describe('DELETE /contacts/chat/:id', () => {
  it("removes the user's own (204), and another user's is 404 and stays", async () => {
    const alice = bed.client();
    const a = await alice.signUp('chat-del-a@example.com');
    const bob = bed.client();
    await bob.signUp('chat-del-b@example.com');
    const added = await alice.post('/contacts/chat', {
      kind: 'slack',
      url: `${bed.chat.origin}${secretPath('slack')}`,
    });
    expect(added.status).toBe(201);
    expect((await bob.request('DELETE', `/contacts/chat/${added.body.id}`)).status).toBe(404);
    expect(await rowsOf(a.id)).toHaveLength(1);
    expect((await alice.request('DELETE', '/contacts/chat/abc')).status).toBe(400);
    expect((await alice.request('DELETE', `/contacts/chat/${added.body.id}`)).status).toBe(204);
    expect((await alice.request('DELETE', `/contacts/chat/${added.body.id}`)).status).toBe(404);
    expect(await rowsOf(a.id)).toStrictEqual([]);
  });
});

describe('a webhook URL is a secret', () => {
  it('appears in no answer and no log line (at debug level)', () => {
    expect(secrets.length).toBeGreaterThan(10);
    // The outbound client's debug lines are in the capture (the refused private address's host).
    expect(bed.logs.lines.some((l) => l.includes('private.chat.test'))).toBe(true);
    const leaks = secrets.filter(
      (s) => bed.answers.some((a) => a.includes(s)) || bed.logs.lines.some((l) => l.includes(s)),
    );
    expect(leaks).toStrictEqual([]);
  });
});
