import type { BulkAction, NotificationsApi } from './api.js';
import { Emitter } from './emitter.js';
import {
  CHANNELS,
  type Channel,
  type ConnectionState,
  type InboxStatus,
  type NotificationJson,
  type NotificationSource,
  type ReadPayload,
  type UnreadCounts,
  perKey,
} from './types.js';

export interface InboxOptions {
  /** Notifications per page (1–100, default 30). */
  pageSize?: number;
  /** Show one channel only (default: all). */
  channel?: Channel | null;
  /** Which notifications (default `inbox`: neither archived nor snoozed). */
  status?: InboxStatus;
}

export interface InboxSnapshot {
  readonly items: readonly NotificationJson[];
  readonly counts: UnreadCounts;
  readonly channel: Channel | null;
  readonly status: InboxStatus;
  readonly state: ConnectionState;
  readonly loaded: boolean;
  readonly hasMore: boolean;
}

export interface InboxEvents {
  /** The list, the counts or the loading state changed: render again. */
  change: void;
  /** A request failed (the model stays usable; the next reload repairs it). */
  error: unknown;
}

/** Quiet time after stream events before the counts are fetched again. */
const COUNTS_SETTLE_MS = 300;
const emptyCounts = (): UnreadCounts => ({ total: 0, byChannel: perKey(CHANNELS, () => 0), unseen: 0 });
const byIdDesc = (a: NotificationJson, b: NotificationJson) => compareIds(b.id, a.id);

/** Ids are decimal strings up to 2^63−1: compared as numbers, exactly. */
export function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The inbox a page shows: the newest notifications (of one channel or all)
 * and the unread counts per channel, kept current from the stream.
 *
 * The list is loaded over HTTP whenever the stream becomes live (a connect,
 * a reconnect, a tab joining a shared stream) and on `reset`: the stream
 * then covers everything after its cursor and the load everything up to it,
 * and read changes made while disconnected (not history, so not replayed)
 * are picked up. Counts move with each event and are checked against the
 * server once a burst of events is over (see scheduleCountsRefresh).
 */
export class Inbox {
  readonly api: NotificationsApi;
  readonly source: NotificationSource;
  private readonly emitter = new Emitter<InboxEvents>();
  private readonly pageSize: number;
  private readonly off: Array<() => void> = [];
  private byId = new Map<string, NotificationJson>();
  private _items: NotificationJson[] = [];
  private _counts: UnreadCounts = emptyCounts();
  private _channel: Channel | null;
  private _status: InboxStatus;
  private _nextBefore: string | null = null;
  private _loaded = false;
  private loading: Promise<void> | null = null;
  private loadAgain = false;
  /** Events that arrived while a load was in flight, applied after it. */
  private held: Array<() => void> | null = null;
  private countsLoading: Promise<void> | null = null;
  private countsAgain = false;
  private countsTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(source: NotificationSource, api: NotificationsApi, options: InboxOptions = {}) {
    this.source = source;
    this.api = api;
    this.pageSize = Math.min(100, Math.max(1, options.pageSize ?? 30));
    this._channel = options.channel ?? null;
    this._status = options.status ?? 'inbox';
    // Every change makes a new snapshot (and only a change does).
    this.emitter.on('change', () => (this.snapshot = null));
    this.off.push(
      source.on('notification', (n) => {
        this.hold(() => this.applyNotification(n));
        this.scheduleCountsRefresh();
      }),
      source.on('read', (p) => {
        this.hold(() => this.applyRead(p));
        this.scheduleCountsRefresh();
      }),
      source.on('reset', () => void this.reload()),
      // Archive, snooze and unread move notifications between the lists: the server's list is the truth.
      source.on('inboxState', () => void this.reload()),
      source.on('unsnoozed', () => void this.reload()),
      source.on('state', (s) => {
        if (s.state === 'live') void this.reload();
        this.emitter.emit('change', undefined);
      }),
    );
  }

  on<K extends keyof InboxEvents>(type: K, listener: (payload: InboxEvents[K]) => void): () => void {
    return this.emitter.on(type, listener);
  }

  /**
   * For UI libraries with external-store hooks, e.g. React:
   * `const view = useSyncExternalStore(inbox.subscribe, inbox.getSnapshot)`.
   * The snapshot is a new object after every change and the same one otherwise.
   */
  readonly subscribe = (onChange: () => void): (() => void) => this.on('change', onChange);
  readonly getSnapshot = (): InboxSnapshot => {
    if (!this.snapshot) {
      this.snapshot = Object.freeze({
        items: this._items,
        counts: this._counts,
        channel: this._channel,
        status: this._status,
        state: this.source.state,
        loaded: this._loaded,
        hasMore: this.hasMore,
      });
    }
    return this.snapshot;
  };
  private snapshot: InboxSnapshot | null = null;

  /** Newest first, of the selected channel. */
  get items(): readonly NotificationJson[] {
    return this._items;
  }

  get counts(): UnreadCounts {
    return this._counts;
  }

  get channel(): Channel | null {
    return this._channel;
  }

  get status(): InboxStatus {
    return this._status;
  }

  /** True once the list of the current channel and status has answered. */
  get loaded(): boolean {
    return this._loaded;
  }

  get hasMore(): boolean {
    return this._nextBefore !== null;
  }

  setChannel(channel: Channel | null): Promise<void> {
    if (channel === this._channel) return Promise.resolve();
    this._channel = channel;
    return this.startOver();
  }

  setStatus(status: InboxStatus): Promise<void> {
    if (status === this._status) return Promise.resolve();
    this._status = status;
    return this.startOver();
  }

  private startOver(): Promise<void> {
    this._loaded = false;
    this.byId = new Map();
    this._items = [];
    this._nextBefore = null;
    this.emitter.emit('change', undefined);
    return this.reload();
  }

  /** Loads the first page and the counts again (coalesced: one load at a time, one more if asked meanwhile). */
  reload(): Promise<void> {
    if (this.loading) {
      this.loadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.loadAgain = false;
        this.held = [];
        const { _channel: channel, _status: status } = this;
        try {
          const [page, counts] = await Promise.all([
            this.api.list({ limit: this.pageSize, channel, status }),
            this.api.unreadCount(),
          ]);
          // Another channel or status was chosen meanwhile: its load follows (loadAgain is set).
          if (channel !== this._channel || status !== this._status) {
            this.held = null;
            continue;
          }
          this.byId = new Map(page.items.map((n) => [n.id, { ...n }]));
          this._nextBefore = page.nextBefore;
          this._counts = counts;
          this._loaded = true;
          this.sort();
          const held = this.held;
          this.held = null;
          for (const apply of held) apply();
          // Those events may or may not be in the counts just read.
          if (held.length > 0) this.scheduleCountsRefresh();
        } catch (err) {
          const held = this.held ?? [];
          this.held = null;
          for (const apply of held) apply();
          this.emitter.emit('error', err);
        }
        this.emitter.emit('change', undefined);
      } while (this.loadAgain);
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** Forgets everything loaded (on sign-out, so the next user never sees it). */
  clear(): void {
    this.byId = new Map();
    this._items = [];
    this._counts = emptyCounts();
    this._nextBefore = null;
    this._loaded = false;
    this.emitter.emit('change', undefined);
  }

  /** The next (older) page. */
  async loadMore(): Promise<void> {
    if (!this._nextBefore) return;
    const { _channel: channel, _status: status } = this;
    const page = await this.api.list({ limit: this.pageSize, before: this._nextBefore, channel, status });
    if (channel !== this._channel || status !== this._status) return;
    for (const n of page.items) if (!this.byId.has(n.id)) this.byId.set(n.id, { ...n });
    this._nextBefore = page.nextBefore;
    this.sort();
    this.emitter.emit('change', undefined);
  }

  /** Marks one read here at once; the server tells every other tab through the stream. */
  async markRead(id: string): Promise<void> {
    this.applyRead({ ids: [id] });
    try {
      await this.api.markRead(id);
      // Exact counts now that the server has it (a load may have raced the mark).
      this.refreshCounts();
    } catch (err) {
      void this.reload();
      throw err;
    }
  }

  async markAllRead(channel: Channel | null = this._channel): Promise<void> {
    this.applyRead(channel ? { all: true, channel } : { all: true });
    try {
      await this.api.markAllRead(channel);
      this.refreshCounts();
    } catch (err) {
      void this.reload();
      throw err;
    }
  }

  /** The unseen badge: everything up to `upTo` has been shown. */
  async markSeen(upTo: string): Promise<void> {
    const now = new Date().toISOString();
    for (const n of this.byId.values()) if (n.seenAt === null && compareIds(n.id, upTo) <= 0) n.seenAt = now;
    this._counts = { ...this._counts, unseen: 0 };
    this.emitter.emit('change', undefined);
    await this.api.markSeen(upTo);
    this.refreshCounts(); // anything newer than upTo is still unseen
  }

  archive(id: string): Promise<void> {
    return this.move([id], ['inbox', 'unread', 'snoozed'], () => this.api.archive(id));
  }

  unarchive(id: string): Promise<void> {
    return this.move([id], ['archived'], () => this.api.unarchive(id));
  }

  snooze(id: string, until: Date): Promise<void> {
    return this.move([id], ['inbox', 'unread'], () => this.api.snooze(id, until));
  }

  unsnooze(id: string): Promise<void> {
    return this.move([id], ['snoozed'], () => this.api.unsnooze(id));
  }

  /** Presses an action button: read here at once; the server records the press. */
  async act(id: string, actionId: string): Promise<void> {
    this.applyRead({ ids: [id] });
    try {
      await this.api.act(id, actionId);
      this.refreshCounts();
    } catch (err) {
      void this.reload();
      throw err;
    }
  }

  /** One change to these notifications (at most 1,000). */
  async bulk(action: BulkAction, ids: string[]): Promise<number> {
    if (action === 'read') this.applyRead({ ids });
    const leavesFrom: Record<BulkAction, InboxStatus[]> = {
      read: [],
      unread: [],
      archive: ['inbox', 'unread', 'snoozed'],
      unarchive: ['archived'],
    };
    let count = 0;
    await this.move(ids, leavesFrom[action], async () => {
      count = (await this.api.bulk(action, { ids })).count;
    });
    return count;
  }

  /**
   * A change that takes these notifications out of the lists named in `leaves`: gone from this one
   * at once if it is one of them; then the list and counts as the server has them.
   */
  private async move(ids: string[], leaves: InboxStatus[], request: () => Promise<void>): Promise<void> {
    if (leaves.includes(this._status)) {
      for (const id of ids) this.byId.delete(id);
      this.sort();
      this.emitter.emit('change', undefined);
    }
    try {
      await request();
    } finally {
      void this.reload();
    }
  }

  dispose(): void {
    for (const off of this.off.splice(0)) off();
    if (this.countsTimer !== null) clearTimeout(this.countsTimer);
  }

  private hold(apply: () => void): void {
    if (this.held) this.held.push(apply);
    else apply();
  }

  private applyNotification(n: NotificationJson): void {
    if (this.byId.has(n.id)) return;
    if (this.countsLoading) this.countsAgain = true; // it may have missed this one
    if (n.readAt === null) {
      this._counts = {
        total: this._counts.total + 1,
        byChannel: { ...this._counts.byChannel, [n.channel]: this._counts.byChannel[n.channel] + 1 },
        unseen: this._counts.unseen,
      };
    }
    if (n.seenAt === null) this._counts = { ...this._counts, unseen: this._counts.unseen + 1 };
    // A new notification is in the inbox: not in the archive or snoozed lists.
    const listed = this._status === 'inbox' || this._status === 'unread' || this._status === 'all';
    if (listed && (this._channel === null || n.channel === this._channel)) {
      this.byId.set(n.id, { ...n });
      this.sort();
    }
    this.emitter.emit('change', undefined);
  }

  /**
   * `refresh`: fetch the counts again where this change leaves them unsure.
   * Not for a local mark before its request has reached the server: the
   * answer would predate it.
   */
  private applyRead(p: ReadPayload): void {
    if (this.countsLoading) this.countsAgain = true;
    const now = new Date().toISOString();
    const byChannel = { ...this._counts.byChannel };
    if ('ids' in p) {
      for (const id of p.ids) {
        const n = this.byId.get(id);
        if (n && n.readAt === null) {
          n.readAt = now;
          byChannel[n.channel] = Math.max(0, byChannel[n.channel] - 1);
        }
      }
    } else {
      const below = (id: string) => p.before === undefined || compareIds(id, p.before) < 0;
      for (const n of this.byId.values()) {
        if (n.readAt === null && (!p.channel || n.channel === p.channel) && below(n.id)) n.readAt = now;
      }
      // Only part of a channel (ids below `before`): left to the counts' refresh that follows.
      if (p.before === undefined) {
        for (const c of CHANNELS) if (!p.channel || c === p.channel) byChannel[c] = 0;
      }
    }
    this._counts = {
      total: CHANNELS.reduce((sum, c) => sum + byChannel[c], 0),
      byChannel,
      unseen: this._counts.unseen,
    };
    this.sort();
    this.emitter.emit('change', undefined);
  }

  /**
   * Counts move with each event at once, and are fetched again shortly after
   * (once per burst): the list and the counts are two queries, so a
   * notification or a read that raced a load may be in one and not the
   * other; a read of a notification not loaded here cannot be counted
   * locally; a mark-all's watermark is the server's newest id, which an
   * event in flight may pass. The fetch settles all of these.
   */
  private scheduleCountsRefresh(): void {
    if (this.countsTimer !== null) clearTimeout(this.countsTimer);
    this.countsTimer = setTimeout(() => {
      this.countsTimer = null;
      this.refreshCounts();
    }, COUNTS_SETTLE_MS);
  }

  private refreshCounts(): void {
    if (this.countsLoading) {
      this.countsAgain = true;
      return;
    }
    this.countsLoading = (async () => {
      do {
        this.countsAgain = false;
        try {
          this._counts = await this.api.unreadCount();
          this.emitter.emit('change', undefined);
        } catch (err) {
          this.emitter.emit('error', err);
        }
      } while (this.countsAgain);
    })().finally(() => {
      this.countsLoading = null;
    });
  }

  private sort(): void {
    this._items = [...this.byId.values()].sort(byIdDesc);
  }
}
