import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Contacts1797100000000 implements MigrationInterface {
  name = 'Contacts1797100000000';

  async up(q: QueryRunner): Promise<void> {
    // One phone per user (src/contacts/). The pending code is kept only as an HMAC.
    await q.query(`
      CREATE TABLE user_phones (
        user_id         bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        number          text NOT NULL CHECK (number ~ '^\\+[0-9]{8,15}$'),
        verified_at     timestamptz,
        code_hash       text,
        code_expires_at timestamptz,
        code_tries      integer NOT NULL DEFAULT 0,
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    // Inbound STOP finds the user by the number that texted.
    await q.query(`CREATE INDEX user_phones_number ON user_phones (number)`);
    // Codes sent, kept an hour: apart from the phone row, so removing the phone resets nothing.
    await q.query(`
      CREATE TABLE phone_codes_sent (
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        sent_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX phone_codes_sent_user ON phone_codes_sent (user_id, sent_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE phone_codes_sent`);
    await q.query(`DROP TABLE user_phones`);
  }
}
