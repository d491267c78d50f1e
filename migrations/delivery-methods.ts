import type { QueryRunner } from 'typeorm';

/**
 * For a delivery method's own migration (docs/extending.md): `addDeliveryMethod(q, 'sms')` in its
 * `up()`, `removeDeliveryMethod(q, 'sms')` in its `down()`. The list of methods is the rows of
 * `delivery_methods`, so two methods' migrations, in either order, each add one name.
 */
export async function addDeliveryMethod(q: QueryRunner, method: string): Promise<void> {
  await q.query(`INSERT INTO delivery_methods (method) VALUES ($1) ON CONFLICT DO NOTHING`, [method]);
  await syncDeliverCheck(q);
  // Its send queue (src/delivery/job-queue.ts, queueOf), with the policy of the email queue.
  await q.query(
    `SELECT pgboss.create_queue($1, json_build_object(
       'policy', policy, 'retryLimit', retry_limit, 'retryDelay', retry_delay, 'retryBackoff', retry_backoff,
       'expireInSeconds', expire_seconds, 'retentionMinutes', retention_minutes))
       FROM pgboss.queue WHERE name = 'deliver-email'
        AND NOT EXISTS (SELECT 1 FROM pgboss.queue WHERE name = $1)`,
    [`deliver-${method}`],
  );
}

/** Its deliveries and toggles go with it (ON DELETE CASCADE); broadcasts stop naming it. */
export async function removeDeliveryMethod(q: QueryRunner, method: string): Promise<void> {
  await q.query(
    `UPDATE notifications SET deliver = NULLIF(array_remove(deliver, $1), '{}') WHERE deliver @> ARRAY[$1]::text[]`,
    [method],
  );
  await q.query(`DELETE FROM delivery_methods WHERE method = $1`, [method]);
  await syncDeliverCheck(q);
  await q.query(`SELECT pgboss.delete_queue($1) FROM pgboss.queue WHERE name = $1`, [`deliver-${method}`]);
}

/**
 * A broadcast's `deliver` (an array: no foreign key) is checked against the methods' rows.
 * NOT VALID: widening never fails an existing row, and narrowing removed the name first;
 * either way no scan of the notifications under this lock.
 */
export async function syncDeliverCheck(q: QueryRunner): Promise<void> {
  const rows: Array<{ method: string }> = await q.query(`SELECT method FROM delivery_methods ORDER BY method`);
  const list = rows.map((r) => `'${r.method.replace(/'/g, "''")}'`).join(', ');
  await q.query(`
    ALTER TABLE notifications DROP CONSTRAINT notifications_deliver,
      ADD CONSTRAINT notifications_deliver
        CHECK (deliver IS NULL OR (user_id IS NULL AND cardinality(deliver) > 0 AND deliver <@ ARRAY[${list}]::text[]))
        NOT VALID`);
}
