import webpush from 'web-push';
import type { DeliveryConfig } from '../../../config/env.js';
import type { OutboundClient, OutboundResponse } from '../../../outbound/outbound-client.js';
import type { Target } from '../../../outbound/target.js';

/** The push service keeps an undelivered push this long. */
const PUSH_TTL_SECONDS = 24 * 3600;
/** A VAPID token's life (RFC 8292 allows up to 24 h), and how long one is reused before a new one. */
const VAPID_TOKEN_SECONDS = 12 * 3600;
const VAPID_REUSE_MS = 6 * 3600 * 1000;

export interface PushMessage {
  target: Target;
  keys: { p256dh: string; auth: string };
  payload: string;
  urgent: boolean;
  signal?: AbortSignal;
}

/**
 * One Web Push request: web-push encrypts (RFC 8291 aes128gcm) and signs (RFC 8292 VAPID, its
 * audience our checked origin), the outbound client sends. web-push's own sendNotification is
 * not used: it re-parses the endpoint with the legacy `url.parse`, which can read another host
 * out of a URL than the one that was checked.
 */
export class WebPush {
  /**
   * Per push service (origin), its VAPID header while it is fresh: signing one (ES256) was half
   * of a push's CPU, and RFC 8292 lets a token serve every request to its audience until it expires.
   */
  private readonly tokens = new Map<string, { authorization: string; until: number }>();

  constructor(
    private readonly outbound: OutboundClient,
    private readonly vapid: DeliveryConfig['vapid'],
  ) {}

  send(m: PushMessage): Promise<OutboundResponse> {
    const details = webpush.generateRequestDetails({ endpoint: m.target.href, keys: m.keys }, m.payload, {
      TTL: PUSH_TTL_SECONDS,
      urgency: m.urgent ? 'high' : 'normal',
      contentEncoding: 'aes128gcm',
    });
    const headers: Record<string, string | number> = { Authorization: this.authorization(m.target.origin) };
    for (const [name, value] of Object.entries(details.headers)) {
      if (name.toLowerCase() !== 'content-length') headers[name] = value as string | number;
    }
    return this.outbound.request(m.target, { headers, body: details.body, signal: m.signal, maxResponseBytes: 4096 });
  }

  private authorization(origin: string): string {
    const now = Date.now();
    const fresh = this.tokens.get(origin);
    if (fresh && fresh.until > now) return fresh.authorization;
    const { Authorization } = webpush.getVapidHeaders(
      origin,
      this.vapid.subject,
      this.vapid.publicKey,
      this.vapid.privateKey,
      'aes128gcm',
      Math.floor(now / 1000) + VAPID_TOKEN_SECONDS,
    );
    this.tokens.set(origin, { authorization: Authorization, until: now + VAPID_REUSE_MS });
    return Authorization;
  }
}
