import type {
  AdminStats,
  BroadcastJson,
  Channel,
  DeliveryJson,
  DeliveryMethod,
  InboxPage,
  InboxStatus,
  Preferences,
  PreferencesUpdate,
  PublicUser,
  PushPublicKey,
  PushSubscriptionInput,
  Severity,
  UnreadCounts,
} from './types.js';

export interface ApiOptions {
  /** The service's origin and path prefix; '' (the default) is the page's own origin. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Extra headers on every request (in Node: the `cookie` of a signed-in session). */
  headers?: Record<string, string> | (() => Record<string, string>);
}

/** A non-2xx answer, with the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** POST /admin/broadcasts, as the contract describes it. */
export interface BroadcastInput {
  title: string;
  body: string;
  severity?: Severity;
  audience?: { role: 'admin' } | { userIds: string[] };
  expiresAt?: string;
  /** Also send by these methods to audience members without an open stream. */
  deliver?: DeliveryMethod[];
  /** Texts per BCP 47 locale (`de`, `fr-CA`): a user sees their locale's, else their language's, else title and body. */
  translations?: Record<string, { title: string; body: string }>;
}

export type BulkAction = 'read' | 'unread' | 'archive' | 'unarchive';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The service's HTTP API for a signed-in user: cookies ride along
 * (`credentials: 'include'`), and every state-changing request carries the
 * session's CSRF token, fetched once and fetched again if a sign-in elsewhere
 * rotated the session under it.
 */
export class NotificationsApi {
  readonly baseUrl: string;
  private readonly doFetch: typeof fetch;
  private csrf: string | null = null;

  constructor(private readonly options: ApiOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** The current user, or null when signed out. */
  async me(): Promise<PublicUser | null> {
    try {
      return await this.request<PublicUser>('GET', '/auth/me');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  }

  async login(email: string, password: string): Promise<PublicUser> {
    const answer = await this.request<{ user: PublicUser; csrfToken: string }>('POST', '/auth/login', {
      email,
      password,
    });
    this.csrf = answer.csrfToken; // the session is new, and so is its token
    return answer.user;
  }

  register(email: string, password: string, displayName?: string): Promise<PublicUser> {
    return this.request('POST', '/auth/register', { email, password, ...(displayName ? { displayName } : {}) });
  }

  async logout(): Promise<void> {
    await this.request('POST', '/auth/logout');
    this.csrf = null;
  }

  list(
    query: {
      limit?: number;
      before?: string | null;
      channel?: Channel | null;
      unread?: boolean;
      status?: InboxStatus;
    } = {},
  ): Promise<InboxPage> {
    const qs = new URLSearchParams();
    if (query.limit) qs.set('limit', String(query.limit));
    if (query.before) qs.set('before', query.before);
    if (query.channel) qs.set('channel', query.channel);
    if (query.unread) qs.set('unread', 'true');
    if (query.status && query.status !== 'inbox') qs.set('status', query.status);
    const s = qs.toString();
    return this.request('GET', `/notifications${s ? `?${s}` : ''}`);
  }

  unreadCount(): Promise<UnreadCounts> {
    return this.request('GET', '/notifications/unread-count');
  }

  markRead(id: string): Promise<void> {
    return this.request('POST', `/notifications/${encodeURIComponent(id)}/read`);
  }

  markAllRead(channel?: Channel | null): Promise<void> {
    return this.request('POST', '/notifications/read-all', channel ? { channel } : {});
  }

  /** Every notification of the user up to this id is seen (the unseen badge), read or not. */
  markSeen(upTo: string): Promise<void> {
    return this.request('POST', '/notifications/seen', { upTo });
  }

  archive(id: string): Promise<void> {
    return this.request('POST', `/notifications/${encodeURIComponent(id)}/archive`);
  }

  unarchive(id: string): Promise<void> {
    return this.request('POST', `/notifications/${encodeURIComponent(id)}/unarchive`);
  }

  /** Out of the inbox until `until` (1 minute to 30 days ahead), then back, unread. */
  snooze(id: string, until: Date): Promise<void> {
    return this.request('POST', `/notifications/${encodeURIComponent(id)}/snooze`, { until: until.toISOString() });
  }

  unsnooze(id: string): Promise<void> {
    return this.request('POST', `/notifications/${encodeURIComponent(id)}/unsnooze`);
  }

  /** One change to up to 1,000 notifications by id, or to all that match a filter; answers how many changed. */
  bulk(
    action: BulkAction,
    target: { ids: string[] } | { filter: { channel?: Channel; before?: string } },
  ): Promise<{ count: number }> {
    return this.request('POST', '/notifications/bulk', { action, ...target });
  }

  /** Presses a notification's action button: recorded, and the notification is read. */
  act(id: string, actionId: string): Promise<void> {
    return this.request('POST', `/notifications/${encodeURIComponent(id)}/actions/${encodeURIComponent(actionId)}`);
  }

  preferences(): Promise<Preferences> {
    return this.request('GET', '/preferences');
  }

  /** Any subset: `{ channels: { order: false } }`, `{ delivery: { order: { email: false } } }`, `{ quietHours: null }`. */
  updatePreferences(changes: PreferencesUpdate): Promise<Preferences> {
    return this.request('PUT', '/preferences', changes);
  }

  /** The VAPID key to pass as `applicationServerKey` to PushManager.subscribe. */
  pushPublicKey(): Promise<PushPublicKey> {
    return this.request('GET', '/push/public-key');
  }

  /** Register this browser's push subscription (`subscription.toJSON()`). */
  subscribePush(subscription: PushSubscriptionInput): Promise<void> {
    return this.request('POST', '/push/subscriptions', { endpoint: subscription.endpoint, keys: subscription.keys });
  }

  unsubscribePush(endpoint: string): Promise<void> {
    return this.request('DELETE', '/push/subscriptions', { endpoint });
  }

  /** How a notification of this user went out by push and email. */
  deliveries(notificationId: string): Promise<DeliveryJson[]> {
    return this.request('GET', `/notifications/${encodeURIComponent(notificationId)}/deliveries`);
  }

  /** Admins only. */
  sendBroadcast(input: BroadcastInput): Promise<BroadcastJson> {
    return this.request('POST', '/admin/broadcasts', input);
  }

  /** Admins only: open streams and users on the instance that answers. */
  stats(): Promise<AdminStats> {
    return this.request('GET', '/admin/stats');
  }

  async csrfToken(): Promise<string> {
    this.csrf ??= (await this.request<{ csrfToken: string }>('GET', '/auth/csrf')).csrfToken;
    return this.csrf;
  }

  async request<T = void>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
    const extra = typeof this.options.headers === 'function' ? this.options.headers() : (this.options.headers ?? {});
    const headers: Record<string, string> = { accept: 'application/json', ...extra };
    if (UNSAFE.has(method)) headers['x-csrf-token'] = await this.csrfToken();
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.doFetch(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'include',
      cache: 'no-store',
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const message = (json as { message?: unknown } | undefined)?.message;
      const text = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : res.statusText;
      // A sign-in in another tab gave the session a new token: fetch it and try once more.
      if (res.status === 403 && /csrf/i.test(text) && UNSAFE.has(method) && !retried) {
        this.csrf = null;
        return this.request(method, path, body, true);
      }
      throw new ApiError(res.status, text || `HTTP ${res.status}`);
    }
    return json as T;
  }
}
