import type { DeliveryMethod, QuietHours } from '../../client/wire.js';
import type { Channel, Severity } from '../notifications/notification.types.js';
import { quietUntil } from '../notifications/quiet-hours.js';

/** What the escalation knows about one (notification, user) when it runs. */
export interface Candidate {
  notificationId: string;
  userId: string;
  channel: Channel;
  severity: Severity;
  muted: Channel[];
  /** Per method, whether the user lets this notification's channel go out by it. */
  enabled: Record<DeliveryMethod, boolean>;
  quietHours: QuietHours | null;
  /** Read in the inbox before the escalation ran. */
  read: boolean;
  /** Written to an open stream of the user, on some instance. */
  streamed: boolean;
  /** Per method, whether the user has its contact (a subscribed browser, a verified phone, …). */
  hasContact: Record<DeliveryMethod, boolean>;
}

export interface PlannedDelivery {
  notificationId: string;
  userId: string;
  method: DeliveryMethod;
  status: 'scheduled' | 'cancelled';
  notBefore: number;
  reason: string | null;
}

/**
 * The delivery rules, in one pure function (docs/delivery.md):
 * - a muted channel sends nothing, except critical;
 * - a method switched off for the channel sends nothing (no row at all);
 * - a method needs its contact (push: a subscribed browser; email: always there);
 * - read or seen live in time: a 'cancelled' row, so the log says why nothing went out;
 * - quiet hours (the user's zone) move every method to their end, except critical.
 */
export function plan(c: Candidate, methods: readonly DeliveryMethod[], now: number): PlannedDelivery[] {
  const critical = c.severity === 'critical';
  if (c.muted.includes(c.channel) && !critical) return [];
  const out: PlannedDelivery[] = [];
  for (const method of methods) {
    if (!c.enabled[method] || !c.hasContact[method]) continue;
    const seen = c.read ? 'read in time' : c.streamed ? 'seen live on an open stream' : null;
    out.push({
      notificationId: c.notificationId,
      userId: c.userId,
      method,
      status: seen ? 'cancelled' : 'scheduled',
      notBefore: critical ? now : (quietUntil(c.quietHours, now) ?? now),
      reason: seen,
    });
  }
  return out;
}
