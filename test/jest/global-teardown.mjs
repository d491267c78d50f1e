// Jest global teardown: drop the template and stop the embedded PostgreSQL of the run.
import pg from 'pg';

export default async function globalTeardown() {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const template = process.env.TEST_PG_TEMPLATE;
  if (adminUrl && template) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  await globalThis.__embeddedPostgres?.stop();
}
