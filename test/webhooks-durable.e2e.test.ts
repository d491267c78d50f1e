import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { freshDatabase, startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { publishTo } from './support/publish.js';
import { until } from './support/until.js';
import { type ReceivedWebhook, WebhookReceiver } from './support/webhook-receiver.js';

/*
 * Webhook messages are durable jobs: a retry that was due after the instance stopped is sent
 * by the next one, with the same webhook-id; two instances on one database share the work.
 */
let database: Awaited<ReturnType<typeof freshDatabase>>;
let r: WebhookReceiver;
const apps: TestApp[] = [];

beforeAll(async () => {
  database = await freshDatabase();
  r = await new WebhookReceiver().start();
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await r?.close();
  await database?.drop();
});

const env = () => ({ WEBHOOK_RETRY_SCHEDULE: '4000', WEBHOOK_URL_ALLOWLIST: r.origin });

async function start(): Promise<TestApp> {
  const app = await startTestApp(env(), database);
  apps.push(app);
  return app;
}

function verify(secret: string, got: ReceivedWebhook) {
  return new Webhook(secret).verify(got.body, {
    'webhook-id': String(got.headers['webhook-id']),
    'webhook-timestamp': String(got.headers['webhook-timestamp']),
    'webhook-signature': String(got.headers['webhook-signature']),
  }) as { type: string; data: { notificationIds: string[] } };
}

it('a retry due after a restart is sent by the next instance, with the same webhook-id', async () => {
  const first = await start();
  const admin = new Client(first.baseUrl);
  expect((await admin.login(first.adminEmail, first.adminPassword)).status).toBe(200);
  const hook = await admin.post('/admin/webhooks', { url: `${r.origin}/durable`, events: ['notification.created'] });
  expect(hook.status).toBe(201);
  const u = await new Client(first.baseUrl).signUp('durable@example.com');
  r.answer(503);
  const row = await publishTo(first, u.id, { title: 'survives' });
  await r.waitFor(1);
  await until(
    'the retry scheduled',
    async () =>
      (await first.db.query(`SELECT status, attempts FROM webhook_messages WHERE webhook_id = $1`, [hook.body.id]))
        .rows,
    (rows) => rows.length === 1 && rows[0].status === 'pending' && rows[0].attempts === 1,
  );
  await first.close();
  apps.splice(apps.indexOf(first), 1);
  // Stopped before the retry was due: nothing more went out.
  expect(r.received).toHaveLength(1);

  const second = await start();
  const got = await r.waitFor(2);
  expect(got[1].headers['webhook-id']).toBe(got[0].headers['webhook-id']);
  expect(verify(hook.body.secret, got[1]).data.notificationIds).toStrictEqual([String(row.id)]);
  await until(
    'delivered',
    async () =>
      (await second.db.query(`SELECT status FROM webhook_messages WHERE webhook_id = $1`, [hook.body.id])).rows,
    (rows) => rows[0]?.status === 'delivered',
  );
});

it('two instances on one database: every message goes out, each once', async () => {
  const a = apps[0];
  const b = await start();
  const before = r.received.length;
  const u = await new Client(a.baseUrl).signUp('two@example.com');
  const rows = [];
  for (let i = 0; i < 10; i++) rows.push(await publishTo(i % 2 === 0 ? a : b, u.id, { title: `n${i}` }));
  const got = (await r.waitFor(before + 10)).slice(before);
  const ids = got.map((g) => JSON.parse(g.body).data.notificationIds[0] as string);
  expect(new Set(ids)).toStrictEqual(new Set(rows.map((x) => String(x.id))));
  expect(new Set(got.map((g) => g.headers['webhook-id'])).size).toBe(10);
  // Each once: nothing else arrives while every message is recorded delivered.
  await until(
    'all delivered',
    async () =>
      (await a.db.query(`SELECT count(*)::int AS n FROM webhook_messages WHERE status = 'delivered'`)).rows[0].n,
    (n) => n === 11,
  );
  expect(r.received.length).toBe(before + 10);
});
