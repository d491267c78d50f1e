import { expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createApp } from '../../src/app.factory.js';
import { AuthService } from '../../src/auth/auth.service.js';
import { loadConfig } from '../../src/config/env.js';
import { ADMIN_PASSWORD, endPool, freshDatabase } from './app.js';
import { TestChatService } from './chat-service.js';
import { TestDnsServer } from './dns.js';
import { type Answer, Client, type RequestOptions } from './http.js';

/** Every line the app's logger writes (LOG_LEVEL=debug, so the outbound client's details too). */
export class LogCapture {
  readonly lines: string[] = [];
  write(chunk: string): void {
    this.lines.push(...chunk.split('\n').filter(Boolean));
  }
}

/** A Client that keeps every answer's text, to look for secrets in them. */
export class RecordingClient extends Client {
  constructor(
    baseUrl: string,
    private readonly answers: string[],
  ) {
    super(baseUrl);
  }

  override async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options?: RequestOptions,
  ): Promise<Answer<T>> {
    const res = await super.request<T>(method, path, body, options);
    this.answers.push(`${[...res.headers].join('\n')}\n${res.text}`);
    return res;
  }
}

/** A port-443 listener on a loopback address that must never be dialled: it counts connections. */
export interface Forbidden {
  host: string;
  connections: number;
  server: net.Server;
}

export interface ChatTestBed {
  app: INestApplication;
  baseUrl: string;
  db: pg.Pool;
  chat: TestChatService;
  dns: TestDnsServer;
  logs: LogCapture;
  /** Every answer any RecordingClient of this bed got. */
  answers: string[];
  forbidden: Forbidden;
  client(): RecordingClient;
  close(): Promise<void>;
}

/**
 * The app (as `npm start` builds it, its log captured) with CHAT_WEBHOOK_ALLOWLIST naming the
 * test chat service's origin (https://localhost:<port>) and the pattern `*.chat.test`; the
 * tests' DNS server resolves `localhost` to 127.0.0.1 and `private.chat.test` to a random
 * 127/8 address where a listener on 443 counts connections that must not happen.
 */
export async function startChatTestBed(env: Record<string, string> = {}): Promise<ChatTestBed> {
  const dns = new TestDnsServer();
  await dns.start();
  const chat = new TestChatService();
  await chat.start();
  const v4 = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${2 + Math.floor(Math.random() * 250)}`;
  dns.set('localhost', ['127.0.0.1']);
  dns.set('private.chat.test', [v4]);
  dns.set('six.chat.test', ['::1']);
  const forbidden: Forbidden = { host: v4, connections: 0, server: net.createServer() };
  forbidden.server.on('connection', (s) => {
    forbidden.connections++;
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    forbidden.server.once('error', (err) => reject(new Error(`cannot listen on ${v4}:443 (${err.message})`)));
    forbidden.server.listen(443, v4, resolve);
  });

  const database = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'notif-test-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
    LOG_LEVEL: 'debug',
    ADMIN_EMAIL: 'admin@example.com',
    ADMIN_PASSWORD,
    SIGNUP_RATE_PER_MINUTE: '100000',
    PUBLIC_URL: 'https://notify.example.com',
    CHAT_WEBHOOK_ALLOWLIST: `${chat.origin},*.chat.test`,
    OUTBOUND_DNS_SERVER: dns.address,
    ...env,
  });
  const logs = new LogCapture();
  const app = await createApp(config, database.url, { logDestination: logs });
  await app.get(AuthService).ensureBootstrapAdmin();
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const db = new pg.Pool({ connectionString: database.url, max: 4 });
  const answers: string[] = [];
  return {
    app,
    baseUrl,
    db,
    chat,
    dns,
    logs,
    answers,
    forbidden,
    client: () => new RecordingClient(baseUrl, answers),
    async close() {
      await app.close();
      await endPool(db);
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
      await chat.close();
      await dns.close();
      await new Promise((r) => forbidden.server.close(r));
    },
  };
}

let chatUsers = 0;

/** A signed-up user with one chat destination per kind at the bed's chat service; `paths` in that order. */
export async function chatUser(
  bed: ChatTestBed,
  ...kinds: Array<'slack' | 'discord' | 'teams'>
): Promise<{ c: RecordingClient; id: string; paths: string[] }> {
  const n = ++chatUsers;
  const c = bed.client();
  const u = await c.signUp(`chat-user-${n}@example.com`);
  const paths: string[] = [];
  for (const kind of kinds) {
    const path = `/${kind}/u${n}-${paths.length}`;
    const res = await c.post('/contacts/chat', { kind, url: `${bed.chat.origin}${path}` });
    expect(res.status).toBe(201);
    paths.push(path);
  }
  return { c, id: u.id, paths };
}
