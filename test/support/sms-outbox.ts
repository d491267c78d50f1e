import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './until.js';

export interface OutboxSms {
  file: string;
  to: string;
  body: string;
  encoding: string;
  segments: number;
}

/** The SMS written to DATA_DIR/outbox (no SMS_URL), oldest first. */
export function outboxSms(dataDir: string): OutboxSms[] {
  const dir = join(dataDir, 'outbox');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json') && f.includes('-sms-'));
  } catch {
    return [];
  }
  return files
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<OutboxSms, 'file'>) }));
}

/** The code of the newest SMS to `to`, once `count` SMS went to it. */
export async function codeSentTo(dataDir: string, to: string, count: number): Promise<string> {
  const sent = await until(
    `${count} SMS to ${to}`,
    async () => outboxSms(dataDir).filter((m) => m.to === to),
    (all) => all.length >= count,
    10_000,
  );
  const code = /\b(\d{6})\b/.exec(sent[count - 1].body)?.[1];
  if (!code) throw new Error(`no code in "${sent[count - 1].body}"`);
  return code;
}
