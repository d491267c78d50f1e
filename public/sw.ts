/**
 * The inbox page's service worker, served at /sw.js so that its scope is the
 * whole origin. It does one job: a Web Push message (the notification JSON,
 * decrypted by the browser) becomes a system notification, and a click on it
 * brings the inbox to the front, or opens it. No caching, no fetch handler:
 * the page always loads from the network, as before.
 *
 * A classic script (no import or export), so every browser can register it;
 * the notification type comes in as a type-only `import()`, erased at compile time.
 */
type PushedNotification = Partial<import('../client/wire.js').NotificationJson> & { url?: unknown };

const worker = self as unknown as ServiceWorkerGlobalScope;
const INBOX_URL = new URL('/', worker.location.origin).href;

// A new version takes over at once: it has no caches that an old page could depend on.
worker.addEventListener('install', () => void worker.skipWaiting());
worker.addEventListener('activate', (event) => event.waitUntil(worker.clients.claim()));

worker.addEventListener('push', (event) => {
  // `userVisibleOnly`: every push must show a notification, even one whose payload is unusable.
  event.waitUntil(showPush(event.data));
});

worker.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = (event.notification.data ?? {}) as { url?: string; id?: string };
  // An action button: the inbox offers it to confirm, then records it (public/press.ts).
  const url =
    event.action && data.id
      ? `${INBOX_URL}?notification=${encodeURIComponent(data.id)}&action=${encodeURIComponent(event.action)}`
      : (data.url ?? INBOX_URL);
  event.waitUntil(openInbox(url, data.id ?? null, event.action || null));
});

// The push service replaced the subscription (Firefox does this; Chromium rarely): tell the
// server about the new one, so pushes keep arriving without the user visiting the page.
worker.addEventListener('pushsubscriptionchange', (event) => {
  const change = event as ExtendableEvent & {
    oldSubscription?: PushSubscription | null;
    newSubscription?: PushSubscription | null;
  };
  change.waitUntil(resubscribe(change.oldSubscription ?? null, change.newSubscription ?? null));
});

function parse(data: PushMessageData | null): PushedNotification {
  if (!data) return {};
  try {
    const json: unknown = data.json();
    return json && typeof json === 'object' ? (json as PushedNotification) : {};
  } catch {
    return { body: data.text() };
  }
}

/** Only a link into this origin: a payload cannot send a click elsewhere. */
function inboxUrl(url: unknown): string {
  if (typeof url !== 'string') return INBOX_URL;
  try {
    const parsed = new URL(url, INBOX_URL);
    return parsed.origin === worker.location.origin ? parsed.href : INBOX_URL;
  } catch {
    return INBOX_URL;
  }
}

async function showPush(data: PushMessageData | null): Promise<void> {
  const n = parse(data);
  const title = typeof n.title === 'string' && n.title ? n.title : 'New notification';
  // `actions` is in the Notifications spec but not in TypeScript's lib yet.
  const options: NotificationOptions & { actions: Array<{ action: string; title: string }> } = {
    body: typeof n.body === 'string' ? n.body : '',
    // One notification per id: a second delivery of the same one replaces it instead of stacking.
    tag: typeof n.id === 'string' ? n.id : undefined,
    icon: '/assets/icon.svg',
    badge: '/assets/icon.svg',
    requireInteraction: n.severity === 'critical',
    // Buttons (Chromium shows up to 2): the action ids come back in notificationclick.
    actions: Array.isArray(n.actions)
      ? n.actions
          .filter((a) => typeof a?.id === 'string' && typeof a?.label === 'string')
          .slice(0, 3)
          .map((a) => ({ action: a.id, title: a.label }))
      : [],
    data: { url: inboxUrl(n.url), id: typeof n.id === 'string' ? n.id : null, channel: n.channel ?? null },
  };
  await worker.registration.showNotification(title, options);
}

/** Focus a tab already showing the inbox (and tell it which notification and action), or open one. */
async function openInbox(url: string, id: string | null, action: string | null): Promise<void> {
  const tabs = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const inbox = tabs.find((tab) => {
    const at = new URL(tab.url);
    return at.origin === worker.location.origin && at.pathname === '/';
  });
  if (inbox) {
    inbox.postMessage({ type: 'notification-click', id, action });
    await inbox.focus();
    return;
  }
  await worker.clients.openWindow(url);
}

async function resubscribe(old: PushSubscription | null, renewed: PushSubscription | null): Promise<void> {
  let subscription = renewed;
  if (!subscription) {
    const key =
      old?.options.applicationServerKey ??
      ((await (await fetch('/push/public-key')).json()) as { publicKey: string }).publicKey;
    subscription = await worker.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: key,
    });
  }
  const { csrfToken } = (await (await fetch('/auth/csrf')).json()) as { csrfToken: string };
  const send = (method: string, body: unknown) =>
    fetch('/push/subscriptions', {
      method,
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
      body: JSON.stringify(body),
    });
  const { endpoint, keys } = subscription.toJSON();
  await send('POST', { endpoint, keys: { p256dh: keys?.p256dh, auth: keys?.auth } });
  if (old && old.endpoint !== endpoint) await send('DELETE', { endpoint: old.endpoint });
}
