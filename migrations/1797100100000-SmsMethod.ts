import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addDeliveryMethod, removeDeliveryMethod } from './delivery-methods.js';

export class SmsMethod1797100100000 implements MigrationInterface {
  name = 'SmsMethod1797100100000';

  async up(q: QueryRunner): Promise<void> {
    // SMS as a delivery method: its row (the log's and toggles' keys, broadcasts' deliver) and its send queue.
    await addDeliveryMethod(q, 'sms');
  }

  async down(q: QueryRunner): Promise<void> {
    await removeDeliveryMethod(q, 'sms');
  }
}
