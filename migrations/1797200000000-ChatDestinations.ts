import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addDeliveryMethod, removeDeliveryMethod } from './delivery-methods.js';

export class ChatDestinations1797200000000 implements MigrationInterface {
  name = 'ChatDestinations1797200000000';

  async up(q: QueryRunner): Promise<void> {
    await addDeliveryMethod(q, 'chat');
    // The URL is a secret: stored sealed (src/contacts/chat/chat-destinations.ts), with a keyed
    // digest to find the same URL added twice. `host` is what the page shows.
    await q.query(`
      CREATE TABLE chat_destinations (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        kind         text NOT NULL CHECK (kind IN ('slack', 'discord', 'teams')),
        label        text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 80),
        host         text NOT NULL,
        url_sealed   bytea NOT NULL,
        url_digest   bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        paused_until timestamptz,
        UNIQUE (user_id, url_digest)
      )`);
    // Which destinations took a notification while another one is still to be retried (a 429
    // or 5xx), so a retry posts only to those that have not; emptied when the run is done.
    await q.query(`
      CREATE TABLE chat_destination_sent (
        destination_id  bigint NOT NULL REFERENCES chat_destinations (id) ON DELETE CASCADE,
        notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
        PRIMARY KEY (destination_id, notification_id)
      )`);
    await q.query(`CREATE INDEX chat_destination_sent_notification_idx ON chat_destination_sent (notification_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE chat_destination_sent`);
    await q.query(`DROP TABLE chat_destinations`);
    await removeDeliveryMethod(q, 'chat');
  }
}
