import type { Activity } from '../notifications/activity.js';

/** The events a webhook may subscribe to: every kind of the core's activity, and nothing else. */
export const WEBHOOK_EVENTS = [
  'notification.created',
  'notification.read',
  'notification.action',
  'delivery.sent',
  'delivery.failed',
] as const satisfies ReadonlyArray<Activity['type']>;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The body of a message, as Standard Webhooks suggests: `{ type, timestamp, data }`. */
export function messageBody(event: Activity, at: Date): string {
  const { type, ...data } = event;
  return JSON.stringify({ type, timestamp: at.toISOString(), data });
}
