import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InboxStates1797500000000 implements MigrationInterface {
  name = 'InboxStates1797500000000';

  async up(q: QueryRunner): Promise<void> {
    // A receipt with read_at NULL is an explicit "unread" (bulk unread, a snooze waking up):
    // it overrides the channel's "mark all read" watermark for that one notification.
    await q.query(`ALTER TABLE notification_reads ALTER COLUMN read_at DROP NOT NULL`);

    // Archive and snooze per (notification, user), broadcasts included: one row per user who
    // changed something, like the read receipts. snoozed_until stays set until the wake-up
    // (src/notifications/snooze-waker.ts) clears it, so "asleep" is one column test.
    await q.query(`
      CREATE TABLE notification_states (
        user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
        archived_at     timestamptz,
        snoozed_until   timestamptz,
        PRIMARY KEY (user_id, notification_id)
      )`);
    await q.query(`CREATE INDEX notification_states_notification_idx ON notification_states (notification_id)`);
    // The wake-up's due-time scan: only snoozed rows are in it.
    await q.query(
      `CREATE INDEX notification_states_snoozed_idx ON notification_states (snoozed_until) WHERE snoozed_until IS NOT NULL`,
    );
    // "status=archived" newest first without walking the user's whole inbox.
    await q.query(
      `CREATE INDEX notification_states_archived_idx ON notification_states (user_id, notification_id) WHERE archived_at IS NOT NULL`,
    );

    // Seen is a watermark per user (POST /notifications/seen { upTo }); a row per move keeps
    // the time each id was first covered: seenAt of n is the first mark with up_to_id >= n.id.
    await q.query(`
      CREATE TABLE notification_seen_marks (
        user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        up_to_id bigint NOT NULL,
        seen_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, up_to_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notification_seen_marks`);
    await q.query(`DROP TABLE notification_states`);
    await q.query(`DELETE FROM notification_reads WHERE read_at IS NULL`);
    await q.query(`ALTER TABLE notification_reads ALTER COLUMN read_at SET NOT NULL`);
  }
}
