import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { notFound } from '../common/domain-error.js';

export interface ApiKeyJson {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The one answer that shows the key itself. */
export interface NewApiKeyJson {
  id: string;
  name: string;
  prefix: string;
  key: string;
  createdAt: string;
}

/** The caller of a /v1 route, once its key is checked. */
export interface ApiCaller {
  keyId: string;
}

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** `nk_` and 43 base64url characters: 32 random bytes. */
const KEY_FORMAT = /^nk_[A-Za-z0-9_-]{32,200}$/;
/** `nk_` and the first 8 characters: enough to tell keys apart, nothing to guess the rest from. */
const PREFIX_LENGTH = 11;
/** lastUsedAt is written at most this often per key (not once per request). */
const LAST_USED_GRANULARITY_MS = 60_000;

const hashOf = (key: string) => createHash('sha256').update(key).digest();

/**
 * API keys for other services (POST /v1/…). A key is shown once and stored as
 * its SHA-256: a fast hash suits 256 random bits (nothing to brute-force), and
 * looking the hash up by a unique index compares nothing byte by byte in
 * JavaScript, so there is no timing to measure. Every request reads its key's
 * row (one index lookup): a revocation is refused at once on every instance,
 * with no cache to invalidate across them.
 */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger('ApiKeys');

  constructor(private readonly db: DataSource) {}

  async create(name: string, createdBy: string): Promise<NewApiKeyJson> {
    const key = `nk_${randomBytes(32).toString('base64url')}`;
    const rows: KeyRow[] = await this.db.query(
      `INSERT INTO api_keys (name, prefix, key_hash, created_by) VALUES ($1, $2, $3, $4)
       RETURNING id, name, prefix, created_at, last_used_at, revoked_at`,
      [name, key.slice(0, PREFIX_LENGTH), hashOf(key), createdBy],
    );
    const { id, prefix, createdAt } = toJson(rows[0]);
    return { id, name, prefix, key, createdAt };
  }

  async list(): Promise<{ items: ApiKeyJson[] }> {
    const rows: KeyRow[] = await this.db.query(
      `SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys ORDER BY id`,
    );
    return { items: rows.map(toJson) };
  }

  /** Revoked from the commit on: the next request with it, on any instance, is 401. */
  async revoke(id: string): Promise<void> {
    // (TypeORM answers an UPDATE with [rows, count].)
    const [, n]: [unknown[], number] = await this.db.query(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`,
      [id],
    );
    if (n === 0) throw notFound('API key not found');
  }

  /** The caller, or null for a malformed, unknown or revoked key. */
  async authenticate(key: string): Promise<ApiCaller | null> {
    if (!KEY_FORMAT.test(key)) return null;
    const rows: Array<{ id: string; stale: boolean }> = await this.db.query(
      `SELECT id, (last_used_at IS NULL OR last_used_at < now() - $2 * interval '1 millisecond') AS stale
         FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hashOf(key), LAST_USED_GRANULARITY_MS],
    );
    if (rows.length === 0) return null;
    const { id, stale } = rows[0];
    if (stale) this.touch(id);
    return { keyId: String(id) };
  }

  /** lastUsedAt, off the request's path; concurrent requests that all saw it stale write once. */
  private touch(id: string): void {
    this.db
      .query(
        `UPDATE api_keys SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - $2 * interval '1 millisecond')`,
        [id, LAST_USED_GRANULARITY_MS],
      )
      .catch((err: Error) => this.logger.warn(`Could not record an API key's use: ${err.message}`));
  }
}

function toJson(row: KeyRow): ApiKeyJson {
  return {
    id: String(row.id),
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at ? row.last_used_at.toISOString() : null,
    revokedAt: row.revoked_at ? row.revoked_at.toISOString() : null,
  };
}
