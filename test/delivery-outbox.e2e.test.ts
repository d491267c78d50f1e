import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase } from './support/app.js';
import { eventually, Instance } from './support/cluster.js';
import { Client } from './support/http.js';

/* `npm start` with no SMTP_URL: the banner says where email goes, and it goes there as .eml files. */
describe('email without SMTP_URL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let instance: Instance;
  let dataDir: string;

  beforeAll(async () => {
    db = await freshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'notif-outbox-'));
    instance = await Instance.start({ databaseUrl: db.url, env: { ESCALATE_AFTER_MS: '200', DATA_DIR: dataDir } });
  });
  afterAll(async () => {
    await instance?.stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes .eml files to DATA_DIR/outbox and says so at start', async () => {
    const outbox = join(dataDir, 'outbox');
    // The banner's lines after "listening" may reach the pipe in a later chunk: wait for the line.
    await instance.waitForOutput(/emails are written as \.eml files to /);
    expect(instance.output).toContain(`emails are written as .eml files to ${outbox}`);
    const user = new Client(instance.baseUrl);
    const { id } = await user.signUp('outbox@example.com');
    const admin = new Client(instance.baseUrl);
    expect((await admin.login('admin@example.com', 'admin-password-1')).status).toBe(200);
    const sent = await admin.post('/admin/broadcasts', {
      title: 'Written to a file',
      body: 'No SMTP server needed.',
      audience: { userIds: [id] },
      deliver: ['email'],
    });
    expect(sent.status).toBe(201);
    const files = () => {
      try {
        return readdirSync(outbox).filter((f) => f.endsWith('.eml'));
      } catch {
        return [];
      }
    };
    await eventually(async () => files().length === 1, 'one .eml in the outbox', 60_000);
    const eml = readFileSync(join(outbox, files()[0]), 'utf8');
    expect(eml).toMatch(/^To: outbox@example\.com$/m);
    expect(eml).toMatch(/^Subject: Written to a file$/m);
    expect(eml).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
  });
});
