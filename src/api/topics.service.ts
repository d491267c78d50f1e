import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { invalid } from '../common/domain-error.js';
import { TOPIC_KEY_MESSAGE, TOPIC_KEY_PATTERN } from './publish.dto.js';

export interface SubscriberPage {
  items: Array<{ userId: string; subscribedAt: string }>;
  next: string | null;
}

/** A topic key from a path, checked: 400 otherwise. */
export function topicKey(value: string): string {
  if (!TOPIC_KEY_PATTERN.test(value)) throw invalid(TOPIC_KEY_MESSAGE);
  return value;
}

/**
 * Topics: which users follow what. Another service subscribes and
 * unsubscribes users (with its API key); a user sees and leaves their own.
 */
@Injectable()
export class TopicsService {
  constructor(private readonly db: DataSource) {}

  /** Adds the users (all of them must exist: a typo would silently reach nobody); already subscribed ones stay as they were. */
  async subscribe(topic: string, userIds: string[]): Promise<void> {
    await this.db.transaction(async (manager) => {
      const unknown: Array<{ id: string }> = await manager.query(
        `SELECT x.id::text AS id FROM unnest($1::bigint[]) AS x(id)
          WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.id) ORDER BY x.id LIMIT 5`,
        [userIds],
      );
      if (unknown.length > 0) throw invalid(`userIds lists unknown users: ${unknown.map((u) => u.id).join(', ')}`);
      await manager.query(
        `INSERT INTO topic_subscriptions (topic, user_id)
         SELECT $1, x.id FROM unnest($2::bigint[]) AS x(id) ORDER BY x.id
         ON CONFLICT DO NOTHING`,
        [topic, userIds],
      );
    });
  }

  async unsubscribe(topic: string, userIds: string[]): Promise<void> {
    await this.db.query(`DELETE FROM topic_subscriptions WHERE topic = $1 AND user_id = ANY ($2::bigint[])`, [
      topic,
      userIds,
    ]);
  }

  async subscribers(topic: string, q: { limit: number; after?: string }): Promise<SubscriberPage> {
    const rows: Array<{ user_id: string; subscribed_at: Date }> = await this.db.query(
      `SELECT user_id::text, subscribed_at FROM topic_subscriptions
        WHERE topic = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`,
      [topic, q.after ?? '0', q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((r) => ({ userId: r.user_id, subscribedAt: r.subscribed_at.toISOString() })),
      next: rows.length > q.limit ? page[page.length - 1].user_id : null,
    };
  }

  /** A topic's audience when a notification is sent to it: its enabled subscribers now. */
  async audience(manager: EntityManager, topic: string): Promise<string[]> {
    const rows: Array<{ ids: string[] | null }> = await manager.query(
      `SELECT array_agg(s.user_id::text ORDER BY s.user_id) AS ids
         FROM topic_subscriptions s JOIN users u ON u.id = s.user_id AND u.disabled_at IS NULL
        WHERE s.topic = $1`,
      [topic],
    );
    return rows[0].ids ?? [];
  }

  async ofUser(userId: string): Promise<{ items: Array<{ key: string; subscribedAt: string }> }> {
    const rows: Array<{ topic: string; subscribed_at: Date }> = await this.db.query(
      `SELECT topic, subscribed_at FROM topic_subscriptions WHERE user_id = $1 ORDER BY topic`,
      [userId],
    );
    return { items: rows.map((r) => ({ key: r.topic, subscribedAt: r.subscribed_at.toISOString() })) };
  }

  async leave(userId: string, topic: string): Promise<void> {
    await this.db.query(`DELETE FROM topic_subscriptions WHERE topic = $1 AND user_id = $2`, [topic, userId]);
  }
}
