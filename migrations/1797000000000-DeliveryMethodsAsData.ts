import type { MigrationInterface, QueryRunner } from 'typeorm';
import { syncDeliverCheck } from './delivery-methods.js';

export class DeliveryMethodsAsData1797000000000 implements MigrationInterface {
  name = 'DeliveryMethodsAsData1797000000000';

  async up(q: QueryRunner): Promise<void> {
    // The delivery methods as rows (a new method's migration adds one: migrations/delivery-methods.ts).
    await q.query(`CREATE TABLE delivery_methods (method text PRIMARY KEY)`);
    await q.query(`INSERT INTO delivery_methods (method) VALUES ('push'), ('email')`);
    // NOT VALID: every row passed the check it replaces; no scan of the log under this lock.
    await q.query(`
      ALTER TABLE deliveries DROP CONSTRAINT deliveries_method_check,
        ADD CONSTRAINT deliveries_method_fkey FOREIGN KEY (method) REFERENCES delivery_methods (method)
          ON DELETE CASCADE NOT VALID`);
    await syncDeliverCheck(q);
    // Per (user, channel, method) what the user chose: a row per choice instead of a column per
    // method. No row: the method's default (client/registry.ts). changed_at (ms since the epoch):
    // when `enabled` last changed; an unsubscribe link sent before that no longer applies.
    await q.query(`
      CREATE TABLE delivery_toggles (
        user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        channel    text NOT NULL,
        method     text NOT NULL REFERENCES delivery_methods (method) ON DELETE CASCADE,
        enabled    boolean NOT NULL,
        changed_at bigint,
        PRIMARY KEY (user_id, channel, method)
      )`);
    await q.query(`
      INSERT INTO delivery_toggles (user_id, channel, method, enabled, changed_at)
      SELECT p.user_id, c, 'push', false, NULL FROM notification_preferences p, unnest(p.push_off) c
      UNION ALL
      SELECT p.user_id, c, 'email', NOT (c = ANY (p.email_off)), (p.email_changed_at ->> c)::bigint
        FROM notification_preferences p,
             LATERAL (SELECT unnest(p.email_off) UNION SELECT jsonb_object_keys(p.email_changed_at)) AS e (c)`);
    await q.query(`
      ALTER TABLE notification_preferences DROP COLUMN push_off, DROP COLUMN email_off, DROP COLUMN email_changed_at`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE notification_preferences
        ADD COLUMN push_off  text[] NOT NULL DEFAULT '{}',
        ADD COLUMN email_off text[] NOT NULL DEFAULT '{}',
        ADD COLUMN email_changed_at jsonb NOT NULL DEFAULT '{}'`);
    await q.query(`
      INSERT INTO notification_preferences AS p (user_id, push_off, email_off, email_changed_at)
      SELECT user_id,
             ARRAY(SELECT channel FROM delivery_toggles s WHERE s.user_id = t.user_id AND s.method = 'push' AND NOT s.enabled ORDER BY channel),
             ARRAY(SELECT channel FROM delivery_toggles s WHERE s.user_id = t.user_id AND s.method = 'email' AND NOT s.enabled ORDER BY channel),
             COALESCE((SELECT jsonb_object_agg(channel, changed_at) FROM delivery_toggles s
                        WHERE s.user_id = t.user_id AND s.method = 'email' AND s.changed_at IS NOT NULL), '{}')
        FROM (SELECT DISTINCT user_id FROM delivery_toggles WHERE method IN ('push', 'email')) t
      ON CONFLICT (user_id) DO UPDATE SET
        push_off = EXCLUDED.push_off, email_off = EXCLUDED.email_off, email_changed_at = EXCLUDED.email_changed_at`);
    await q.query(`DROP TABLE delivery_toggles`);
    await q.query(`
      ALTER TABLE deliveries DROP CONSTRAINT deliveries_method_fkey,
        ADD CONSTRAINT deliveries_method_check CHECK (method IN ('push', 'email')) NOT VALID`);
    await q.query(`DELETE FROM delivery_methods WHERE method NOT IN ('push', 'email')`);
    await syncDeliverCheck(q);
    await q.query(`DROP TABLE delivery_methods`);
  }
}
