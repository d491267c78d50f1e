import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Topics1797300300000 implements MigrationInterface {
  name = 'Topics1797300300000';

  async up(q: QueryRunner): Promise<void> {
    // Who follows what ("restock.sku-1"). A topic notification copies its subscribers into the
    // row's audience when it is sent: later changes here do not touch it.
    await q.query(`
      CREATE TABLE topic_subscriptions (
        topic         text NOT NULL,
        user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        subscribed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, user_id)
      )`);
    await q.query(`CREATE INDEX topic_subscriptions_user_idx ON topic_subscriptions (user_id, topic)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE topic_subscriptions`);
  }
}
