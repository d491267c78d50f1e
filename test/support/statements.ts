import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * The statements the app sends through its DataSource from now on, in order: the plan tests
 * explain the app's own statements with their own parameters rather than copies of them.
 */
export function recordStatements(app: INestApplication): Statement[] {
  const statements: Statement[] = [];
  const ds = app.get(DataSource);
  const query = ds.query.bind(ds);
  ds.query = ((sql: string, params?: unknown[], runner?: never) => {
    statements.push({ sql, params: params ?? [] });
    return query(sql, params, runner);
  }) as typeof ds.query;
  return statements;
}

/** The newest recorded statement that contains `marker`. */
export function lastWith(statements: readonly Statement[], marker: string): Statement {
  const found = [...statements].reverse().find((s) => s.sql.includes(marker));
  if (!found) throw new Error(`no statement with ${JSON.stringify(marker)} was sent`);
  return found;
}
