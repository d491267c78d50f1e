import type { INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.factory.js';
import { loadConfig } from '../../src/config/env.js';
import { TransactionRunner } from '../../src/database/transaction.js';
import { NotificationPublisher } from '../../src/notifications/notification.publisher.js';
import type { Channel, PersonalDraft, Severity } from '../../src/notifications/notification.types.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, SESSION_SECRET } from './cluster.js';

/**
 * An instance of the app that publishes but does not listen: the same modules,
 * publisher and bus as a serving instance (createApp + init, no HTTP port), as
 * an event source on another machine would be. Notifications published here
 * reach the serving instances only through the bus and the database.
 */
export interface PublisherApp {
  app: INestApplication;
  publisher: NotificationPublisher;
  transactions: TransactionRunner;
  /** Inside one transaction, as an event source does. */
  publish(drafts: PersonalDraft[]): Promise<string[]>;
  close(): Promise<void>;
}

export async function startPublisherApp(databaseUrl: string, env: Record<string, string> = {}): Promise<PublisherApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'notif-publisher-')),
    SESSION_SECRET,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    LOG_LEVEL: 'error',
    ...env,
  });
  const app = await createApp(config, databaseUrl);
  await app.init();
  const publisher = app.get(NotificationPublisher);
  const transactions = app.get(TransactionRunner);
  return {
    app,
    publisher,
    transactions,
    publish: (drafts) =>
      transactions.run((tx) => publisher.publish(tx, drafts)).then((rows) => rows.map((r) => String(r.id))),
    close: async () => {
      await app.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

const CHANNELS: Channel[] = ['order', 'payment', 'system'];
const SEVERITIES: Severity[] = ['info', 'warning', 'critical'];

/** A notification for `userId`; `n` varies channel and severity. */
export function draft(userId: string, n: number, body = `body ${n}`): PersonalDraft {
  return {
    userId,
    channel: CHANNELS[n % 3],
    type: `test.n${n % 3}`,
    severity: SEVERITIES[Math.floor(n / 3) % 3],
    title: `Notification ${n}`,
    body,
    data: { n },
  };
}
