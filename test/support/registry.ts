import { CHANNELS, DELIVERY_METHOD_INFO, DELIVERY_METHODS, perKey } from '../../client/registry.js';

/**
 * What a user has before they change anything, for every channel and method of the
 * registry: tests spell out only what they change (`{ ...NO_UNREAD, order: 3 }`), so
 * that adding a channel or a method breaks no test that is not about it.
 */
export const NO_UNREAD = perKey(CHANNELS, () => 0);

export const DEFAULT_CHANNELS = perKey(CHANNELS, () => true);

export const DEFAULT_DELIVERY = perKey(CHANNELS, () =>
  perKey(DELIVERY_METHODS, (m) => DELIVERY_METHOD_INFO[m].enabledByDefault),
);
