import type { OutboundClient } from '../../../outbound/outbound-client.js';
import { retryAfterMs } from '../../../outbound/outbound-client.js';
import { OutboundError } from '../../../outbound/outbound-error.js';
import type { Target } from '../../../outbound/target.js';

/** How a chat service answered one message, as the sender acts on it. */
export type ChatAnswer =
  | { readonly outcome: 'sent' }
  /** 404 or 410: the webhook was deleted (or its channel archived); the destination goes. */
  | { readonly outcome: 'gone'; readonly error: string }
  /** 429: nothing goes to this destination before `at` (epoch ms). */
  | { readonly outcome: 'wait'; readonly error: string; readonly at: number }
  /** 5xx, a timeout, a connection that failed: worth trying again. */
  | { readonly outcome: 'transient'; readonly error: string }
  /** Any other answer (400, 403…) or a URL the rules refuse: trying again changes nothing. */
  | { readonly outcome: 'refused'; readonly error: string };

/** A 429 without a usable Retry-After waits this long; a longer one is cut to MAX_WAIT_MS. */
const DEFAULT_WAIT_MS = 30_000;
const MAX_WAIT_MS = 3_600_000;
/** One message's deadline: chat services answer in well under a second. */
const TIMEOUT_MS = 10_000;

/**
 * POSTs one JSON message to a checked webhook target through the outbound machinery and sorts
 * the answer. The error texts name a status or a category, never the URL.
 */
export async function postChat(
  outbound: OutboundClient,
  target: Target,
  message: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<ChatAnswer> {
  let res;
  try {
    res = await outbound.request(target, { json: message, timeoutMs: TIMEOUT_MS, signal, maxResponseBytes: 4096 });
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    return err.transient ? { outcome: 'transient', error: err.category } : { outcome: 'refused', error: err.category };
  }
  const status = res.status;
  if (status >= 200 && status < 300) return { outcome: 'sent' };
  if (status === 404 || status === 410) return { outcome: 'gone', error: `chat service answered ${status}` };
  if (status === 429) {
    // Discord also says it in its JSON body (`retry_after`, seconds), Slack only in the header.
    const wait = retryAfterMs(res.headers) ?? bodyRetryAfterMs(res.body) ?? DEFAULT_WAIT_MS;
    return { outcome: 'wait', error: 'chat service answered 429', at: Date.now() + Math.min(wait, MAX_WAIT_MS) };
  }
  if (status >= 500) return { outcome: 'transient', error: `chat service answered ${status}` };
  return { outcome: 'refused', error: `chat service answered ${status}` };
}

function bodyRetryAfterMs(body: Buffer): number | null {
  try {
    const seconds = (JSON.parse(body.toString('utf8')) as { retry_after?: unknown }).retry_after;
    return typeof seconds === 'number' && seconds >= 0 ? Math.ceil(seconds * 1000) : null;
  } catch {
    return null;
  }
}
