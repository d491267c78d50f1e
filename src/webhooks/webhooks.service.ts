import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { invalid, notFound } from '../common/domain-error.js';
import { Outbound } from '../outbound/outbound.module.js';
import { OutboundError } from '../outbound/outbound-error.js';
import { allowlistRules, type Target, type UrlRules } from '../outbound/target.js';
import { newSecret } from './signature.js';
import { WebhookQueue } from './webhook-queue.js';
import type { CreateWebhookDto, MessageStatus, UpdateWebhookDto } from './webhooks.dto.js';

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
}

const COLUMNS = `id::text, url, events, description, enabled, disabled_reason, created_at`;

const toJson = (r: WebhookRow) => ({
  id: r.id,
  url: r.url,
  events: r.events,
  description: r.description,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at.toISOString(),
});

/** The webhook URL rules: https on 443 to a public address, WEBHOOK_URL_ALLOWLIST's origins excepted. */
export function webhookUrlRules(config: AppConfig): UrlRules {
  return allowlistRules(config.webhooks.urlAllowlist, { anyPublicHost: true });
}

/** What an admin does to webhooks (the routes of WebhooksController). */
@Injectable()
export class WebhooksService {
  private readonly rules: UrlRules;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DataSource,
    private readonly outbound: Outbound,
    private readonly queue: WebhookQueue,
  ) {
    this.rules = webhookUrlRules(config);
  }

  /** 400 unless the URL passes the rules and its host resolves to public addresses only now. */
  private async checkedUrl(url: string): Promise<Target> {
    try {
      const target = this.outbound.check(url, this.rules);
      await this.outbound.checkAddresses(target);
      return target;
    } catch (err) {
      if (err instanceof OutboundError) {
        throw invalid(`url ${err.category}: https to a public address, or an origin of WEBHOOK_URL_ALLOWLIST`);
      }
      throw err;
    }
  }

  async create(body: CreateWebhookDto) {
    const target = await this.checkedUrl(body.url);
    const secret = newSecret();
    const [row]: WebhookRow[] = await this.db.query(
      `INSERT INTO webhooks (url, events, description, secret) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
      [target.href, body.events, body.description ?? null, secret],
    );
    return { ...toJson(row), secret };
  }

  async list() {
    const rows: WebhookRow[] = await this.db.query(`SELECT ${COLUMNS} FROM webhooks ORDER BY id`);
    return { items: rows.map(toJson) };
  }

  async update(id: string, body: UpdateWebhookDto) {
    const url = body.url === undefined ? null : (await this.checkedUrl(body.url)).href;
    const enabled = body.enabled ?? null;
    // (TypeORM answers an UPDATE with [rows, count].)
    const [rows]: [WebhookRow[], number] = await this.db.query(
      `UPDATE webhooks SET url = COALESCE($2, url), events = COALESCE($3, events),
              description = CASE WHEN $4::boolean THEN $5 ELSE description END,
              enabled = COALESCE($6, enabled),
              disabled_reason = CASE WHEN COALESCE($6, enabled) THEN NULL ELSE COALESCE(disabled_reason, 'disabled by an admin') END,
              updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, url, body.events ?? null, body.description !== undefined, body.description ?? null, enabled],
    );
    if (rows.length === 0) throw notFound('Webhook not found');
    // Messages that waited while it was off go now.
    if (enabled) await this.queue.wake([id]);
    return toJson(rows[0]);
  }

  async remove(id: string): Promise<void> {
    const [, n]: [unknown[], number] = await this.db.query(`DELETE FROM webhooks WHERE id = $1 RETURNING id`, [id]);
    if (n === 0) throw notFound('Webhook not found');
  }

  /** A new secret; the current one becomes the previous and signs too for ROTATION_OVERLAP_MS. */
  async rotateSecret(id: string) {
    const secret = newSecret();
    const [, n]: [unknown[], number] = await this.db.query(
      `UPDATE webhooks SET previous_secret = secret, previous_until = now() + make_interval(secs => $3 / 1000.0),
              secret = $2, updated_at = now()
        WHERE id = $1 RETURNING id`,
      [id, secret, ROTATION_OVERLAP_MS],
    );
    if (n === 0) throw notFound('Webhook not found');
    return { secret };
  }

  async messages(id: string, q: { status?: MessageStatus; limit: number }) {
    await this.exists(id);
    const statuses = q.status === 'pending' ? ['pending', 'sending'] : q.status ? [q.status] : null;
    const rows: Array<{
      msg_id: string;
      event: string;
      status: string;
      attempts: number;
      last_status_code: number | null;
      last_error: string | null;
      next_attempt_at: Date;
      created_at: Date;
    }> = await this.db.query(
      `SELECT msg_id, event, status, attempts, last_status_code, last_error, next_attempt_at, created_at
         FROM webhook_messages
        WHERE webhook_id = $1 AND ($2::text[] IS NULL OR status = ANY ($2::text[]))
        ORDER BY id DESC LIMIT $3`,
      [id, statuses, q.limit],
    );
    return {
      items: rows.map((r) => ({
        messageId: r.msg_id,
        event: r.event,
        // A claim in progress is still pending to the outside.
        status: r.status === 'sending' ? 'pending' : r.status,
        attempts: r.attempts,
        lastStatusCode: r.last_status_code,
        lastError: r.last_error,
        nextAttemptAt: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
        createdAt: r.created_at.toISOString(),
      })),
    };
  }

  /** Its failed messages created since `since` are pending again, with a whole retry schedule ahead. */
  async recover(id: string, since: string) {
    const from = new Date(since);
    if (Number.isNaN(from.getTime())) throw invalid('since must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z');
    await this.exists(id);
    const [, n]: [unknown[], number] = await this.db.query(
      `UPDATE webhook_messages SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL
        WHERE webhook_id = $1 AND status = 'failed' AND created_at >= $2 RETURNING id`,
      [id, from],
    );
    if (n > 0) await this.queue.wake([id]);
    return { messages: n };
  }

  private async exists(id: string): Promise<void> {
    const rows: unknown[] = await this.db.query(`SELECT 1 FROM webhooks WHERE id = $1`, [id]);
    if (rows.length === 0) throw notFound('Webhook not found');
  }
}
