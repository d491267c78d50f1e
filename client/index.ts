/**
 * The notifications client, for browsers (loaded as native ES modules, no
 * bundler: this entry imports nothing by package name) and for Node
 * (client/node.ts adds the fetch transport).
 */
import { NotificationsApi, type ApiOptions } from './api.js';
import { Inbox, type InboxOptions } from './inbox.js';
import { SharedStream, type SharedStreamOptions } from './shared.js';

export * from './types.js';
export { backoffDelay } from './backoff.js';
export {
  NotificationStream,
  streamUrl,
  type ConnectRequest,
  type RawEvent,
  type StreamOptions,
  type Transport,
  type TransportEnd,
  type TransportHandlers,
} from './connection.js';
export { eventSourceTransport, type EventSourceTransportOptions } from './eventsource-transport.js';
export { ApiError, NotificationsApi, type ApiOptions, type BroadcastInput, type BulkAction } from './api.js';
export { Inbox, compareIds, type InboxEvents, type InboxOptions, type InboxSnapshot } from './inbox.js';
export { SharedStream, type SharedStreamOptions, type SharingMode } from './shared.js';

/**
 * Everything a page needs in one call: one stream shared by all tabs, the
 * API with CSRF handled, and an inbox model kept current from the stream.
 */
export function connectInbox(
  options: { api?: ApiOptions; stream?: SharedStreamOptions; inbox?: InboxOptions } = {},
): Inbox {
  const inbox = new Inbox(new SharedStream(options.stream), new NotificationsApi(options.api), options.inbox);
  void inbox.reload();
  return inbox;
}
