/**
 * "Enable browser notifications": the page's half of Web Push. It registers
 * the service worker (/sw.js, which shows each push as a system notification),
 * asks the notification permission, subscribes with the service's VAPID key
 * and tells the service the subscription; "Turn off" undoes both. The state
 * shown is the browser's own (permission and subscription), so it is right in
 * every tab and after a reload.
 */
import { ApiError, type NotificationsApi } from '../client/index.js';

/**
 * - `unsupported`: no service worker, Push API or Notification API (or not a secure context).
 * - `blocked`: the user (or the browser) denied the permission; only the site settings can undo it.
 * - `off`: allowed or not asked yet, and this browser has no subscription.
 * - `on`: this browser is subscribed.
 */
export type PushState = 'unsupported' | 'blocked' | 'off' | 'on';

export function pushSupported(): boolean {
  return window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** "BEl62iUY…" (base64url, unpadded) → the key's bytes, as PushManager.subscribe wants them. */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameKey(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

export class BrowserNotifications {
  /** Resolves to null where push is unsupported or the worker could not register. */
  readonly registration: Promise<ServiceWorkerRegistration | null>;

  constructor(private readonly api: NotificationsApi) {
    this.registration = pushSupported()
      ? navigator.serviceWorker
          // updateViaCache 'none': a deploy's new worker is fetched at once, not after a day.
          .register('/sw.js', { scope: '/', updateViaCache: 'none' })
          .then(() => navigator.serviceWorker.ready)
          .catch((err: unknown) => {
            console.warn('service worker registration failed', err);
            return null;
          })
      : Promise.resolve(null);
  }

  async state(): Promise<PushState> {
    const registration = await this.registration;
    if (!registration) return 'unsupported';
    if (Notification.permission === 'denied') return 'blocked';
    if (Notification.permission !== 'granted') return 'off';
    return (await registration.pushManager.getSubscription()) ? 'on' : 'off';
  }

  /**
   * Permission, subscription, then the service. If any step fails nothing is
   * left half done: a subscription the service refused is dropped again, so
   * the browser never holds one that the service does not know.
   */
  async enable(): Promise<PushState> {
    const registration = await this.registration;
    if (!registration) return 'unsupported';
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') return permission === 'denied' ? 'blocked' : 'off';
    const key = base64UrlToBytes((await this.api.pushPublicKey()).publicKey);
    let subscription = await registration.pushManager.getSubscription();
    // One made with another key (the service's VAPID keys changed) cannot receive its pushes.
    if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription ??= await subscribeInTime(registration.pushManager, key);
    try {
      subscription = await this.tell(registration, subscription, () => Promise.resolve(key));
    } catch (err) {
      await subscription.unsubscribe().catch(() => undefined);
      throw err;
    }
    return 'on';
  }

  /**
   * Tells the service this browser's subscription. 409: the service holds its endpoint for
   * another browser session (it takes the auth secret of that session to move it), so this
   * browser drops it and tells the service a fresh one, whose keys are its own.
   */
  private async tell(
    registration: ServiceWorkerRegistration,
    subscription: PushSubscription,
    key: () => Promise<Uint8Array<ArrayBuffer>>,
  ): Promise<PushSubscription> {
    try {
      await this.api.subscribePush(toInput(subscription));
      return subscription;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) throw err;
      await subscription.unsubscribe().catch(() => undefined);
      const fresh = await subscribeInTime(registration.pushManager, await key());
      await this.api.subscribePush(toInput(fresh));
      return fresh;
    }
  }

  /** The service forgets the subscription first: if it cannot be told, the state stays on. */
  async disable(): Promise<PushState> {
    const registration = await this.registration;
    if (!registration) return 'unsupported';
    const subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      await this.api.unsubscribePush(subscription.endpoint);
      await subscription.unsubscribe();
    }
    return this.state();
  }

  /**
   * After signing in: a subscription this browser already holds now belongs
   * to this user (the service keys subscriptions by endpoint), so pushes
   * follow whoever is signed in here.
   */
  async claim(): Promise<PushState> {
    const registration = await this.registration;
    const subscription = registration && (await registration.pushManager.getSubscription());
    if (subscription && Notification.permission === 'granted') {
      await this.tell(registration, subscription, async () =>
        base64UrlToBytes((await this.api.pushPublicKey()).publicKey),
      );
    }
    return this.state();
  }

  /**
   * Before signing out: a shared computer must not show the last user's
   * notifications to the next one. Best effort: the sign-out goes on anyway.
   */
  async release(): Promise<void> {
    const registration = await this.registration;
    const subscription = registration && (await registration.pushManager.getSubscription());
    if (!subscription) return;
    await this.api.unsubscribePush(subscription.endpoint).catch(() => undefined);
    await subscription.unsubscribe().catch(() => undefined);
  }
}

/**
 * The browser registers with its vendor's push service (FCM, Mozilla's, Apple's) before
 * `subscribe` settles; where that service cannot be reached (a firewall, an offline
 * machine) Chromium keeps trying for minutes. Give up sooner and say so; if the
 * subscription arrives after all, drop it: the service was never told of it.
 */
export const SUBSCRIBE_TIMEOUT_MS = 20_000;

function subscribeInTime(manager: PushManager, key: Uint8Array<ArrayBuffer>): Promise<PushSubscription> {
  const pending = manager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('The browser’s push service did not answer. Try again later.'));
      pending.then((late) => late.unsubscribe()).catch(() => undefined);
    }, SUBSCRIBE_TIMEOUT_MS);
    pending.then(
      (subscription) => {
        clearTimeout(timer);
        resolve(subscription);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function toInput(subscription: PushSubscription): { endpoint: string; keys: { p256dh: string; auth: string } } {
  const { endpoint, keys } = subscription.toJSON();
  if (!endpoint || !keys?.p256dh || !keys.auth) throw new Error('The browser gave an incomplete push subscription.');
  return { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } };
}
