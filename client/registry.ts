/**
 * The source channels and the delivery methods, each listed once: everything
 * that enumerates them derives from here (docs/extending.md). It imports
 * nothing: the server, the client and the page all load it.
 */

export interface ChannelInfo {
  /** The inbox page's tab and toggle. */
  readonly label: string;
  /** "No {noun} yet". */
  readonly noun: string;
}

/** Where notifications come from; a channel is also the SSE event name its notifications are sent under. */
export const CHANNEL_INFO = {
  order: { label: 'Orders', noun: 'order updates' },
  payment: { label: 'Payments', noun: 'payment updates' },
  system: { label: 'System', noun: 'announcements' },
} as const satisfies Record<string, ChannelInfo>;

export interface DeliveryMethodInfo {
  /** The inbox page's column heading ("Orders by push" in lower case). */
  readonly label: string;
  /** A user who never chose: on or off. */
  readonly enabledByDefault: boolean;
}

/** Ways a notification leaves the service besides the stream and inbox (which are always on). */
export const DELIVERY_METHOD_INFO = {
  push: { label: 'Push', enabledByDefault: true },
  email: { label: 'Email', enabledByDefault: true },
  sms: { label: 'SMS', enabledByDefault: false },
  chat: { label: 'Chat', enabledByDefault: false },
} as const satisfies Record<string, DeliveryMethodInfo>;

/** A notification's channel; also the SSE event name it is sent under. */
export type Channel = keyof typeof CHANNEL_INFO;
export type DeliveryMethod = keyof typeof DELIVERY_METHOD_INFO;

/** In the registry's order. */
export const CHANNELS = Object.keys(CHANNEL_INFO) as readonly Channel[];
export const DELIVERY_METHODS = Object.keys(DELIVERY_METHOD_INFO) as readonly DeliveryMethod[];

/** One value per key (counts, toggles), so that a new channel or method is never left out. */
export function perKey<K extends string, T>(keys: readonly K[], value: (key: K) => T): Record<K, T> {
  return Object.fromEntries(keys.map((key) => [key, value(key)])) as Record<K, T>;
}
