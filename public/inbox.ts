/**
 * The inbox page: sign in, a live list of notifications, unread and unseen badges,
 * mark read, archive, snooze, action buttons, bulk changes, preferences (live
 * updates, language, push and email, quiet hours), browser
 * notifications (./push.ts and the service worker ./sw.ts), and an admin's
 * broadcast form. Built on the typed
 * client (client/), loaded as native ES modules: no bundler, no framework.
 * Every piece of text from the server is set with textContent.
 */
import {
  ApiError,
  CHANNEL_INFO,
  CHANNELS,
  compareIds,
  Inbox,
  LOCALE_INFO,
  LOCALES,
  NotificationsApi,
  SharedStream,
  type BulkAction,
  type Channel,
  type InboxStatus,
  type NotificationAction,
  type NotificationJson,
  type PublicUser,
  type SharingMode,
  type StateChange,
} from '../client/index.js';
import { PhoneContact } from './contacts.js';
import { DeliveryForm } from './delivery.js';
import { BrowserNotifications, type PushState } from './push.js';
import { type Press, PressOffer, pressIn, withoutPress } from './press.js';
import { buildRegistryViews } from './registry-views.js';
import { browserTimeZone, SNOOZE_PRESETS, snoozeUntil, type SnoozePreset } from './snooze.js';

buildRegistryViews(document);

const channelLabel = (c: Channel) => CHANNEL_INFO[c].label;
const noun = (c: Channel) => CHANNEL_INFO[c].noun;
/** "Order updates, payment updates and announcements". */
const EVERY_NOUN = sentence(
  CHANNELS.length > 1
    ? `${CHANNELS.slice(0, -1).map(noun).join(', ')} and ${noun(CHANNELS[CHANNELS.length - 1])}`
    : CHANNELS.map(noun).join(''),
);
const SEVERITY_LABEL = { info: 'Info', warning: 'Warning', critical: 'Critical' } as const;

function $<T extends HTMLElement = HTMLElement>(selector: string): T {
  const el = document.querySelector<T>(selector);
  if (!el) throw new Error(`missing ${selector}`);
  return el;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ?share=shared-worker|leader|direct forces a mode (for trying the fallbacks).
const query = new URLSearchParams(location.search);
const forced = query.get('share');
const mode = (['shared-worker', 'leader', 'direct'] as const).find((m) => m === forced) satisfies
  SharingMode | undefined;

/**
 * The server sets `has_session` with the session cookie and clears it at sign-out: without it no
 * session can exist, so the page asks nothing that would answer 401 (a console error in every
 * browser) and opens no stream until someone signs in.
 */
const sessionMayExist = () => /(?:^|;\s*)has_session=/.test(document.cookie);
/** A session that turned out to be gone (expired, or ended elsewhere): the next visit asks nothing. */
const forgetSession = () => (document.cookie = 'has_session=; Max-Age=0; Path=/; SameSite=Lax');

const api = new NotificationsApi();
const source = new SharedStream({ mode: mode ?? 'auto', start: sessionMayExist() });
const inbox = new Inbox(source, api, { pageSize: 30 });
let user: PublicUser | null = null;

document.body.dataset.shareMode = source.mode;
document.body.dataset.shareRole = source.role;
source.onRoleChange((role) => {
  document.body.dataset.shareRole = role;
  document.body.dataset.shareMode = source.mode;
});

/* ---------- views ---------- */

function show(view: 'loading' | 'signed-out' | 'signed-in'): void {
  for (const id of ['loading', 'signed-out', 'signed-in']) $(`#${id}`).hidden = id !== view;
  $('#connection').hidden = view !== 'signed-in';
  $('#account').hidden = view !== 'signed-in';
  document.body.dataset.view = view;
}

function signedIn(me: PublicUser): void {
  const first = user?.id !== me.id;
  user = me;
  const name = me.displayName || me.email;
  $('#account-name').textContent = name;
  $('#account-email').textContent = me.displayName ? me.email : '';
  $('#account-email').hidden = !me.displayName;
  $('#account-role').textContent = me.role === 'admin' ? 'Admin' : '';
  $('#account-role').hidden = me.role !== 'admin';
  $('#account-avatar').textContent = name.trim().charAt(0);
  $('#new-broadcast').hidden = me.role !== 'admin';
  show('signed-in');
  if (first) {
    void inbox.reload().then(offerPending);
    void loadPreferences();
    void contacts.load();
    void claimPush();
  }
}

function signedOut(notice?: string): void {
  user = null;
  offer.hide();
  seenUpTo = null;
  selected.clear();
  closeBroadcast();
  inbox.clear();
  const box = $('#auth-notice');
  box.hidden = !notice;
  box.textContent = notice ?? '';
  show('signed-out');
  render();
}

async function checkSession(): Promise<void> {
  try {
    const me = sessionMayExist() ? await api.me() : null;
    if (me) signedIn(me);
    else if (user || document.body.dataset.view !== 'signed-out') signedOut();
    if (!me) forgetSession();
  } catch {
    toast('The service cannot be reached. Retrying…', true);
  }
}

/* ---------- connection state ---------- */

function renderConnection(change: StateChange): void {
  const pill = $('#connection');
  pill.dataset.state = change.state;
  const label = pill.querySelector('.connection-label')!;
  if (change.state === 'live') label.textContent = 'Live';
  else if (change.state === 'connecting') label.textContent = 'Connecting…';
  else if (change.state === 'reconnecting') label.textContent = 'Reconnecting…';
  else label.textContent = change.reason === 'unauthorized' ? 'Signed out' : 'Offline';
  pill.title =
    change.state === 'reconnecting' && change.retryInMs
      ? `Next attempt in ${Math.ceil(change.retryInMs / 1000)} s`
      : '';
}

source.on('state', (change) => {
  renderConnection(change);
  // Another tab signed in (the shared stream came up) or out (401): follow it.
  if (change.state === 'live' && !user) void checkSession();
  if (change.state === 'closed' && change.reason === 'unauthorized') {
    forgetSession();
    if (user) signedOut('You have been signed out. Sign in again to keep receiving notifications.');
  }
});

// Signed out here while another tab signed in: follow it when this one is looked at again.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible' || user || !sessionMayExist()) return;
  source.restart();
  void checkSession();
});

/* ---------- the list ---------- */

const rendered = new Map<string, HTMLLIElement>();
const fresh = new Set<string>();
let renderQueued = false;

source.on('notification', (n) => {
  fresh.add(n.id);
  setTimeout(() => fresh.delete(n.id), 2000);
});

function timeAgo(iso: string): string {
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  if (abs < 7 * 86400) return rtf.format(Math.round(seconds / 86400), 'day');
  return new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

const VIEW_TITLE: Record<'archived' | 'snoozed', string> = { archived: 'Archived', snoozed: 'Snoozed' };
const VIEW_SUMMARY: Record<'archived' | 'snoozed', string> = {
  archived: 'Out of the inbox and its counts',
  snoozed: 'Back in the inbox, unread, when their time is up',
};
const EMPTY_VIEW: Record<'archived' | 'snoozed', { title: string; text: string }> = {
  archived: { title: 'Nothing archived', text: 'Archived notifications wait here, out of the inbox.' },
  snoozed: {
    title: 'Nothing snoozed',
    text: 'A snoozed notification comes back to the inbox, unread, when its time is up.',
  },
};

/** Where a snooze's presets are counted: the quiet hours' zone if the user set one, else the browser's. */
let userTimeZone = browserTimeZone();
/** The newest id this page has told the server it showed (POST /notifications/seen). */
let seenUpTo: string | null = null;
/** Ticked for a bulk change, of the list on screen. */
const selected = new Set<string>();
/** After an item leaves the list, the control to give the focus to (keyboard users stay in place). */
let focusAfterRender: { id: string | null; selector: string } | null = null;

function actionButton(n: NotificationJson, action: NotificationAction): HTMLButtonElement {
  const button = el(
    'button',
    `btn btn-sm ${action.style === 'primary' ? 'btn-primary' : 'btn-secondary'}`,
    action.label,
  );
  button.type = 'button';
  button.dataset.action = action.id;
  if (action.url) button.title = `Opens ${new URL(action.url).host}`;
  button.setAttribute('aria-describedby', `title-${n.id}`);
  return button;
}

function toolButton(className: string, text: string, label: string): HTMLButtonElement {
  const button = el('button', `btn btn-ghost btn-sm ${className}`, text);
  button.type = 'button';
  button.setAttribute('aria-label', label);
  return button;
}

/** The snooze button and its menu of presets (WAI-ARIA menu button: arrows move, Escape closes). */
function snoozeMenu(n: NotificationJson): HTMLElement {
  const wrap = el('div', 'snooze');
  const button = toolButton('item-snooze', 'Snooze', `Snooze “${n.title}”`);
  const menu = el('div', 'snooze-menu');
  menu.id = `snooze-${n.id}`;
  menu.setAttribute('role', 'menu');
  menu.setAttribute('aria-label', `Snooze “${n.title}”`);
  menu.hidden = true;
  button.setAttribute('aria-haspopup', 'menu');
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', menu.id);
  for (const { preset, label } of SNOOZE_PRESETS) {
    const item = el('button', 'snooze-item', label);
    item.type = 'button';
    item.tabIndex = -1;
    item.setAttribute('role', 'menuitem');
    item.dataset.preset = preset;
    menu.append(item);
  }
  wrap.append(button, menu);
  return wrap;
}

function itemElement(n: NotificationJson, status: InboxStatus): HTMLLIElement {
  const li = el('li', 'item');
  li.dataset.id = n.id;
  li.dataset.channel = n.channel;
  li.dataset.severity = n.severity;
  li.dataset.type = n.type;
  const lead = el('div', 'item-lead');
  const select = el('input', 'item-select');
  select.type = 'checkbox';
  select.setAttribute('aria-label', `Select “${n.title}”`);
  lead.append(el('span', 'item-icon'), select);
  li.append(lead);
  const main = el('div', 'item-main');
  const top = el('div', 'item-top');
  const title = el('span', 'item-title', n.title);
  title.id = `title-${n.id}`;
  top.append(title);
  const time = el('time', 'item-time', timeAgo(n.createdAt));
  time.dateTime = n.createdAt;
  time.title = new Date(n.createdAt).toLocaleString();
  top.append(time);
  main.append(top, el('p', 'item-body', n.body));
  const meta = el('div', 'item-meta');
  meta.append(el('span', 'tag', channelLabel(n.channel)));
  if (n.severity !== 'info') meta.append(el('span', `tag sev-${n.severity}`, SEVERITY_LABEL[n.severity]));
  if (status === 'snoozed' && n.snoozedUntil) {
    const until = new Date(n.snoozedUntil).toLocaleString(undefined, {
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      timeZone: userTimeZone,
    });
    meta.append(el('span', 'tag tag-snoozed', `Until ${until}`));
  }
  main.append(meta);
  if (n.actions.length > 0) {
    const actions = el('div', 'item-actions');
    actions.append(...n.actions.map((a) => actionButton(n, a)));
    main.append(actions);
  }
  const tools = el('div', 'item-tools');
  tools.append(
    status === 'archived'
      ? toolButton('item-archive', 'Unarchive', `Unarchive “${n.title}”`)
      : toolButton('item-archive', 'Archive', `Archive “${n.title}”`),
  );
  if (status === 'snoozed') tools.append(toolButton('item-unsnooze', 'Unsnooze', `Unsnooze “${n.title}”`));
  else if (status !== 'archived') tools.append(snoozeMenu(n));
  main.append(tools);
  const read = el('button', 'item-read');
  read.type = 'button';
  read.title = 'Mark as read';
  read.setAttribute('aria-label', `Mark “${n.title}” as read`);
  li.append(main, read);
  return li;
}

function render(): void {
  renderQueued = false;
  const counts = inbox.counts;
  for (const badge of document.querySelectorAll<HTMLElement>('[data-badge]')) {
    const key = badge.dataset.badge as Channel | 'total';
    const n = key === 'total' ? counts.total : counts.byChannel[key];
    badge.dataset.count = String(n);
    badge.textContent = n > 99 ? '99+' : String(n);
  }
  const bell = $('#unseen');
  bell.dataset.count = String(counts.unseen);
  bell.querySelector('.bell-count')!.textContent = counts.unseen > 99 ? '99+' : String(counts.unseen);
  document.title = counts.total > 0 ? `(${counts.total}) Inbox` : 'Inbox';

  const { channel, status } = inbox;
  for (const button of document.querySelectorAll<HTMLElement>('.channel')) {
    if ((button.dataset.channel || null) === channel) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  for (const button of document.querySelectorAll<HTMLElement>('#views [data-status]'))
    button.setAttribute('aria-pressed', String(button.dataset.status === status));
  const inInbox = status !== 'archived' && status !== 'snoozed';
  const channelTitle = channel ? channelLabel(channel) : 'All notifications';
  $('#inbox-title-text').textContent = inInbox ? channelTitle : `${VIEW_TITLE[status]}: ${channelTitle}`;
  const unread = channel ? counts.byChannel[channel] : counts.total;
  // The counts are the inbox's: the other views say what they hold instead.
  $('#inbox-summary').textContent = !inInbox
    ? VIEW_SUMMARY[status]
    : unread === 0
      ? 'Nothing unread'
      : `${unread} unread`;
  $<HTMLButtonElement>('#mark-all').disabled = unread === 0;
  $('#mark-all').hidden = !inInbox;

  const list = $('#list');
  list.dataset.status = status;
  list.setAttribute('aria-busy', String(!inbox.loaded));
  const items = inbox.items;
  const wanted: HTMLLIElement[] = [];
  const keep = new Set<string>();
  for (const n of items) {
    let li = rendered.get(n.id);
    if (!li) {
      li = itemElement(n, status);
      rendered.set(n.id, li);
      if (fresh.has(n.id)) li.classList.add('fresh');
    }
    li.classList.toggle('unread', n.readAt === null);
    li.querySelector<HTMLInputElement>('.item-select')!.checked = selected.has(n.id);
    wanted.push(li);
    keep.add(n.id);
  }
  for (const id of [...rendered.keys()]) if (!keep.has(id)) rendered.delete(id);
  for (const id of [...selected]) if (!keep.has(id)) selected.delete(id);
  const current = [...list.children];
  if (current.length !== wanted.length || current.some((c, i) => c !== wanted[i])) list.replaceChildren(...wanted);
  $('#empty').hidden = !inbox.loaded || items.length > 0;
  if (inInbox) {
    $('#empty-title').textContent = channel ? `No ${noun(channel)} yet` : 'No notifications yet';
    $('#empty-text').textContent =
      `${channel ? sentence(noun(channel)) : EVERY_NOUN} appear here the moment they happen.`;
  } else {
    $('#empty-title').textContent = EMPTY_VIEW[status].title;
    $('#empty-text').textContent = EMPTY_VIEW[status].text;
  }
  $('#load-more').hidden = !inbox.hasMore;
  renderBulk(status);
  restoreFocus();
  markSeen();
}

function renderBulk(status: InboxStatus): void {
  const n = selected.size;
  const all = $<HTMLInputElement>('#select-all');
  all.checked = n > 0 && n === inbox.items.length;
  all.indeterminate = n > 0 && n < inbox.items.length;
  all.disabled = inbox.items.length === 0;
  $('#bulk-count').textContent = n === 0 ? 'None selected' : `${n} selected`;
  for (const id of ['#bulk-read', '#bulk-unread', '#bulk-archive', '#bulk-unarchive'])
    $<HTMLButtonElement>(id).disabled = n === 0;
  $('#bulk-archive').hidden = status === 'archived';
  $('#bulk-unarchive').hidden = status !== 'archived';
}

function restoreFocus(): void {
  if (!focusAfterRender) return;
  const { id, selector } = focusAfterRender;
  focusAfterRender = null;
  const li = id === null ? null : rendered.get(id);
  const target = li?.querySelector<HTMLElement>(selector) ?? li?.querySelector<HTMLElement>('.item-select');
  (target ?? $('#inbox-title')).focus();
}

/** The inbox list is on screen: everything in it up to the newest is seen (the bell goes to 0; unread stays). */
function markSeen(): void {
  if (inbox.status !== 'inbox' || !inbox.loaded || document.visibilityState !== 'visible') return;
  const newest = inbox.items[0]?.id;
  if (!newest || inbox.counts.unseen === 0 || (seenUpTo !== null && compareIds(newest, seenUpTo) <= 0)) return;
  seenUpTo = newest;
  inbox.markSeen(newest).catch((err: unknown) => toast(message(err), true));
}

function queueRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

inbox.on('change', queueRender);
inbox.on('error', (err) => {
  if (err instanceof ApiError && err.status === 401) return; // the stream's state says it
  if (user) toast(message(err), true);
});
document.addEventListener('visibilitychange', queueRender);
setInterval(() => {
  for (const time of document.querySelectorAll<HTMLTimeElement>('.item-time'))
    time.textContent = timeAgo(time.dateTime);
}, 30_000);

/** The item leaves the list: the focus goes to the same control of the next one (or the previous). */
function leaving(li: HTMLLIElement, selector: string): void {
  if (!li.contains(document.activeElement)) return;
  const next = (li.nextElementSibling ?? li.previousElementSibling) as HTMLLIElement | null;
  focusAfterRender = { id: next?.dataset.id ?? null, selector };
}

function closeMenus(except?: HTMLElement): void {
  for (const menu of document.querySelectorAll<HTMLElement>('.snooze-menu:not([hidden])')) {
    if (menu === except) continue;
    menu.hidden = true;
    menu.parentElement!.querySelector('.item-snooze')!.setAttribute('aria-expanded', 'false');
  }
}

function openMenu(button: HTMLElement, focus: 'first' | 'last' = 'first'): void {
  const menu = button.parentElement!.querySelector<HTMLElement>('.snooze-menu')!;
  closeMenus(menu);
  menu.hidden = false;
  button.setAttribute('aria-expanded', 'true');
  const items = menu.querySelectorAll<HTMLElement>('[role="menuitem"]');
  items[focus === 'first' ? 0 : items.length - 1].focus();
}

function closeMenu(menu: HTMLElement, refocus: boolean): void {
  menu.hidden = true;
  const button = menu.parentElement!.querySelector<HTMLElement>('.item-snooze')!;
  button.setAttribute('aria-expanded', 'false');
  if (refocus) button.focus();
}

const failed = (err: unknown) => toast(message(err), true);

/** Records an action button's press; one with a url opens it once the press is recorded. */
function press(n: NotificationJson, action: NotificationAction): void {
  inbox
    .act(n.id, action.id)
    .then(() => {
      if (action.url) window.open(action.url, '_blank', 'noopener');
    })
    .catch(failed);
}

/** The user's notification with this id: on screen, or asked of the server (any status). */
async function findNotification(id: string): Promise<NotificationJson | null> {
  const here = inbox.items.find((n) => n.id === id);
  if (here) return here;
  const page = await api.list({ status: 'all', before: String(BigInt(id) + 1n), limit: 1 });
  return page.items.find((n) => n.id === id) ?? null;
}

const offer = new PressOffer($('#press'), findNotification, press, (text) => toast(text, true));
/** A press named by the address the page was opened at, offered once someone is signed in. */
let pendingPress: Press | null = pressIn(query);
if (pendingPress) history.replaceState(null, '', withoutPress(location));

function offerPending(): void {
  const p = pendingPress;
  pendingPress = null;
  if (p) void offer.offer(p);
}

$('#list').addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  const li = target.closest<HTMLLIElement>('.item');
  if (!li) return;
  const id = li.dataset.id!;
  const title = li.querySelector('.item-title')!.textContent;
  const action = target.closest<HTMLElement>('[data-action]');
  if (action) {
    const n = inbox.items.find((x) => x.id === id);
    const pressed = n?.actions.find((a) => a.id === action.dataset.action);
    if (n && pressed) press(n, pressed);
    return;
  }
  if (target.closest('.item-archive')) {
    leaving(li, '.item-archive');
    const unarchive = inbox.status === 'archived';
    (unarchive ? inbox.unarchive(id) : inbox.archive(id))
      .then(() => toast(unarchive ? `Back in the inbox: ${title}` : `Archived: ${title}`))
      .catch(failed);
    return;
  }
  if (target.closest('.item-unsnooze')) {
    leaving(li, '.item-unsnooze');
    inbox
      .unsnooze(id)
      .then(() => toast(`Back in the inbox: ${title}`))
      .catch(failed);
    return;
  }
  const snoozeButton = target.closest<HTMLElement>('.item-snooze');
  if (snoozeButton) {
    if (snoozeButton.getAttribute('aria-expanded') === 'true') closeMenu(li.querySelector('.snooze-menu')!, true);
    else openMenu(snoozeButton);
    return;
  }
  const preset = target.closest<HTMLElement>('[data-preset]');
  if (preset) {
    closeMenus();
    leaving(li, '.item-snooze');
    const until = snoozeUntil(preset.dataset.preset as SnoozePreset, userTimeZone);
    inbox
      .snooze(id, until)
      .then(() =>
        toast(
          `Snoozed until ${until.toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' })}`,
        ),
      )
      .catch(failed);
    return;
  }
  if (target.closest('input, button:not(.item-read), a, .snooze-menu')) return;
  if (!li.classList.contains('unread')) return;
  inbox.markRead(id).catch(failed);
});

$('#list').addEventListener('change', (e) => {
  const box = e.target as HTMLInputElement;
  if (!box.classList.contains('item-select')) return;
  const id = box.closest<HTMLLIElement>('.item')!.dataset.id!;
  if (box.checked) selected.add(id);
  else selected.delete(id);
  renderBulk(inbox.status);
});

$('#list').addEventListener('keydown', (e) => {
  const menu = (e.target as HTMLElement).closest<HTMLElement>('.snooze-menu');
  if (menu) {
    const items = [...menu.querySelectorAll<HTMLElement>('[role="menuitem"]')];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const move: Record<string, number> = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
    if (e.key in move) {
      e.preventDefault();
      items[(move[e.key] + items.length) % items.length].focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      closeMenu(menu, true);
    } else if (e.key === 'Tab') {
      closeMenu(menu, false);
    }
    return;
  }
  const button = (e.target as HTMLElement).closest<HTMLElement>('.item-snooze');
  if (button && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
    e.preventDefault();
    openMenu(button, e.key === 'ArrowDown' ? 'first' : 'last');
  }
});

document.addEventListener('click', (e) => {
  if (!(e.target as HTMLElement).closest('.snooze')) closeMenus();
});

$('#select-all').addEventListener('change', (e) => {
  selected.clear();
  if ((e.target as HTMLInputElement).checked) for (const n of inbox.items) selected.add(n.id);
  queueRender();
});

const BULK_DONE: Record<BulkAction, string> = {
  read: 'marked read',
  unread: 'marked unread',
  archive: 'archived',
  unarchive: 'back in the inbox',
};
for (const action of ['read', 'unread', 'archive', 'unarchive'] as const) {
  $(`#bulk-${action}`).addEventListener('click', () => {
    const ids = [...selected];
    if (ids.length === 0) return;
    selected.clear();
    if ($('#bulk').contains(document.activeElement)) $<HTMLInputElement>('#select-all').focus();
    inbox
      .bulk(action, ids)
      .then((count) => toast(`${count} ${BULK_DONE[action]}`))
      .catch(failed);
  });
}

$('#mark-all').addEventListener('click', () => {
  inbox.markAllRead().catch(failed);
});

$('#load-more').addEventListener('click', () => {
  inbox.loadMore().catch(failed);
});

function startOver(): void {
  rendered.clear();
  fresh.clear(); // another view's items are not news
  selected.clear();
  closeMenus();
}

for (const button of document.querySelectorAll<HTMLElement>('.channel')) {
  button.addEventListener('click', () => {
    startOver();
    void inbox.setChannel((button.dataset.channel as Channel) || null);
  });
}

for (const button of document.querySelectorAll<HTMLElement>('#views [data-status]')) {
  button.addEventListener('click', () => {
    // Each view draws its own controls (Archive or Unarchive, Snooze or Unsnooze): new elements.
    startOver();
    void inbox.setStatus(button.dataset.status as InboxStatus);
  });
}

/* ---------- language ---------- */

const localeSelect = $<HTMLSelectElement>('#locale');
const languageName = (tag: string) =>
  new Intl.DisplayNames([tag], { type: 'language', fallback: 'code' }).of(tag) ?? tag;

function showLocale(locale: string): void {
  const known = [...localeSelect.options].map((o) => o.value);
  // A tag the server keeps that the page does not list (fr-CA, set elsewhere): shown as it is.
  if (!known.includes(locale)) localeSelect.append(new Option(languageName(locale), locale));
  localeSelect.value = locale;
  localeSelect.disabled = false;
}

for (const locale of LOCALES) localeSelect.append(new Option(LOCALE_INFO[locale].label, locale));

localeSelect.addEventListener('change', async () => {
  const wanted = localeSelect.value;
  localeSelect.disabled = true;
  try {
    const prefs = await api.updatePreferences({ locale: wanted });
    showLocale(prefs.locale);
    toast(`Language: ${languageName(prefs.locale)}`);
  } catch (err) {
    toast(message(err), true);
    void loadPreferences();
  } finally {
    localeSelect.disabled = false;
  }
});

/* ---------- preferences ---------- */

const toggles = new Map(CHANNELS.map((c) => [c, $<HTMLInputElement>(`[data-pref="${c}"]`)]));

async function loadPreferences(): Promise<void> {
  try {
    const prefs = await api.preferences();
    for (const [c, input] of toggles) input.checked = prefs.channels[c];
    delivery.show(prefs);
    showLocale(prefs.locale);
    userTimeZone = prefs.quietHours?.timeZone ?? browserTimeZone();
  } catch (err) {
    toast(message(err), true);
  }
}

for (const [c, input] of toggles) {
  input.addEventListener('change', async () => {
    input.disabled = true;
    try {
      const prefs = await api.updatePreferences({ channels: { [c]: input.checked } });
      for (const [k, other] of toggles) other.checked = prefs.channels[k];
      toast(input.checked ? `${channelLabel(c)}: live updates on` : `${channelLabel(c)} muted`);
    } catch (err) {
      input.checked = !input.checked;
      toast(message(err), true);
    } finally {
      input.disabled = false;
    }
  });
}

/* ---------- when away: push and email per channel, quiet hours ---------- */

const delivery = new DeliveryForm($<HTMLFormElement>('#delivery-form'));

delivery.form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = $('#delivery-error');
  error.hidden = true;
  delivery.markInvalid(null);
  await busy(delivery.form, $<HTMLButtonElement>('#delivery-save'), 'Saving…', async () => {
    try {
      const prefs = await api.updatePreferences(delivery.value());
      delivery.show(prefs);
      userTimeZone = prefs.quietHours?.timeZone ?? browserTimeZone();
      toast('Delivery preferences saved');
    } catch (err) {
      error.textContent = message(err); // the server's words, as they are;
      error.hidden = false;
      delivery.markInvalid(message(err));
      delivery.form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    }
  });
});

/* ---------- contacts: a verified phone (./contacts.ts); chat destinations beside it ---------- */

const contacts = new PhoneContact(api, $('#contacts-panel'), message, (text) => toast(text));

/* ---------- browser notifications (Web Push) ---------- */

const push = new BrowserNotifications(api);

const PUSH_VIEW: Record<PushState, { status: string; button: string | null }> = {
  unsupported: { status: 'This browser cannot show notifications from this site.', button: null },
  blocked: {
    status: 'Notifications are blocked for this site. Allow them in the browser’s site settings, then reload.',
    button: null,
  },
  off: {
    status: 'Get a system notification when something arrives and no tab is open.',
    button: 'Enable browser notifications',
  },
  on: { status: 'On in this browser: what you miss here arrives as a system notification.', button: 'Turn off' },
};

function renderPush(state: PushState): void {
  $('#push-panel').dataset.push = state;
  $('#push-status').textContent = PUSH_VIEW[state].status;
  const button = $<HTMLButtonElement>('#push-toggle');
  button.hidden = PUSH_VIEW[state].button === null;
  button.querySelector('.push-toggle-label')!.textContent = PUSH_VIEW[state].button;
  button.classList.toggle('btn-primary', state === 'off');
  button.classList.toggle('btn-secondary', state !== 'off');
}

async function refreshPush(): Promise<void> {
  renderPush(await push.state());
}

async function claimPush(): Promise<void> {
  try {
    renderPush(await push.claim());
  } catch (err) {
    toast(message(err), true);
    await refreshPush();
  }
}

$('#push-toggle').addEventListener('click', async (e) => {
  const button = e.currentTarget as HTMLButtonElement;
  const turningOn = $('#push-panel').dataset.push !== 'on';
  const label = button.querySelector('.push-toggle-label')!;
  button.disabled = true;
  label.textContent = turningOn ? 'Enabling…' : 'Turning off…';
  try {
    const state = turningOn ? await push.enable() : await push.disable();
    renderPush(state);
    if (state === 'on') toast('Browser notifications on');
    else if (!turningOn) toast('Browser notifications off');
  } catch (err) {
    toast(pushMessage(err), true);
    await refreshPush();
  } finally {
    button.disabled = false;
  }
});

/** The browser's own errors say little to a person ("AbortError: Registration failed - push service error"). */
function pushMessage(err: unknown): string {
  if (err instanceof DOMException)
    return err.name === 'NotAllowedError'
      ? 'Notifications are blocked for this site.'
      : `This browser could not subscribe to notifications (${err.message}).`;
  return message(err);
}

void refreshPush();
// The permission changes in the site settings too, not only here.
void navigator.permissions
  ?.query({ name: 'notifications' })
  .then((status) => status.addEventListener('change', () => void refreshPush()))
  .catch(() => undefined);

// A click on a system notification focused this tab: show the notification it was about, and
// offer the action if one of its buttons was pressed.
navigator.serviceWorker?.addEventListener(
  'message',
  (e: MessageEvent<{ type?: string; id?: string | null; action?: string | null }>) => {
    if (e.data?.type !== 'notification-click' || !e.data.id) return;
    document.body.dataset.clickedNotification = e.data.id;
    rendered.get(e.data.id)?.scrollIntoView({ block: 'center' });
    const p = pressIn(new URLSearchParams({ notification: e.data.id, action: e.data.action ?? '' }));
    if (p && user) void offer.offer(p);
  },
);

/* ---------- sign in, register, sign out ---------- */

let registering = false;

function setAuthMode(register: boolean): void {
  registering = register;
  $('#tab-sign-in').setAttribute('aria-selected', String(!register));
  $('#tab-register').setAttribute('aria-selected', String(register));
  $('#name-field').hidden = !register;
  $('#auth-title').textContent = register ? 'Create your account' : 'Welcome back';
  $('#auth-submit').textContent = register ? 'Create account' : 'Sign in';
  $<HTMLInputElement>('#auth-form [name=password]').autocomplete = register ? 'new-password' : 'current-password';
  $('#auth-error').hidden = true;
}

$('#tab-sign-in').addEventListener('click', () => setAuthMode(false));
$('#tab-register').addEventListener('click', () => setAuthMode(true));

$<HTMLFormElement>('#auth-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget as HTMLFormElement;
  const data = new FormData(form);
  const email = String(data.get('email') ?? '').trim();
  const password = String(data.get('password') ?? '');
  const displayName = String(data.get('displayName') ?? '').trim();
  const error = $('#auth-error');
  error.hidden = true;
  if (!email || !password) {
    error.textContent = 'Enter your email and password.';
    error.hidden = false;
    return;
  }
  if (registering && password.length < 8) {
    error.textContent = 'Choose a password of at least 8 characters.';
    error.hidden = false;
    return;
  }
  const submit = $<HTMLButtonElement>('#auth-submit');
  await busy(form, submit, registering ? 'Creating account…' : 'Signing in…', async () => {
    try {
      if (registering) await api.register(email, password, displayName || undefined);
      const me = await api.login(email, password);
      form.reset();
      setAuthMode(false);
      // A new session, maybe another user: the shared stream starts over for every tab.
      source.restart({ fresh: true });
      signedIn(me);
    } catch (err) {
      error.textContent =
        err instanceof ApiError && err.status === 409
          ? 'That email already has an account. Sign in instead.'
          : message(err);
      error.hidden = false;
      // The email stays for another try; a wrong password does not.
      const input = form.elements.namedItem('password') as HTMLInputElement;
      if (!registering) input.value = '';
      input.focus();
    }
  });
});

$('#sign-out').addEventListener('click', async (e) => {
  const button = e.currentTarget as HTMLButtonElement;
  button.disabled = true;
  try {
    await push.release();
    await api.logout();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) return toast(message(err), true);
  } finally {
    button.disabled = false;
  }
  // The server ends this session's stream; every tab sees it close and signs out too.
  signedOut();
});

/* ---------- admin: broadcast ---------- */

const broadcastDialog = $<HTMLDialogElement>('#broadcast-dialog');
const broadcastForm = $<HTMLFormElement>('#broadcast-form');

function closeBroadcast(): void {
  if (broadcastDialog.open) broadcastDialog.close();
}

$('#new-broadcast').addEventListener('click', () => {
  $('#broadcast-error').hidden = true;
  markInvalid(broadcastForm, null);
  broadcastDialog.showModal();
});
$('#broadcast-close').addEventListener('click', closeBroadcast);
$('#broadcast-cancel').addEventListener('click', closeBroadcast);
// A click on the backdrop (the dialog itself, outside its form) closes it too.
broadcastDialog.addEventListener('click', (e) => {
  if (e.target === broadcastDialog) closeBroadcast();
});

/**
 * The server's validation messages name their field first and are joined by
 * "; " ("title must be …; body must be …"): mark those fields.
 */
function markInvalid(form: HTMLFormElement, text: string | null): void {
  const parts = text === null ? [] : text.split('; ');
  for (const field of form.querySelectorAll<HTMLElement>('[name]')) {
    const name = field.getAttribute('name')!;
    if (parts.some((part) => part.startsWith(`${name} `))) field.setAttribute('aria-invalid', 'true');
    else field.removeAttribute('aria-invalid');
  }
}

broadcastForm.addEventListener('input', (e) => (e.target as HTMLElement).removeAttribute('aria-invalid'));

broadcastForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = broadcastForm;
  const data = new FormData(form);
  const severity = String(data.get('severity')) as 'info' | 'warning' | 'critical';
  const audience = String(data.get('audience'));
  const error = $('#broadcast-error');
  error.hidden = true;
  markInvalid(form, null);
  // The server's rules (lengths, characters) are the only ones: its 400 says what is wrong.
  const input = {
    title: String(data.get('title') ?? '').trim(),
    body: String(data.get('body') ?? '').trim(),
    severity,
    ...(audience === 'admin' ? { audience: { role: 'admin' as const } } : {}),
  };
  const submit = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
  await busy(form, submit, 'Sending…', async () => {
    try {
      await api.sendBroadcast(input);
      form.reset();
      closeBroadcast();
      toast(audience === 'admin' ? 'Broadcast sent to admins' : 'Broadcast sent to everyone');
    } catch (err) {
      error.textContent = sentence(message(err));
      error.hidden = false;
      markInvalid(form, message(err));
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    }
  });
});

/**
 * Runs a form's request with its button disabled and saying what happens,
 * so a second click cannot send it twice.
 */
async function busy(
  form: HTMLFormElement,
  button: HTMLButtonElement,
  label: string,
  work: () => Promise<void>,
): Promise<void> {
  const idle = button.textContent;
  button.disabled = true;
  button.textContent = label;
  form.setAttribute('aria-busy', 'true');
  try {
    await work();
  } finally {
    form.removeAttribute('aria-busy');
    // setAuthMode may have relabelled the button meanwhile: keep its label then.
    if (button.textContent === label) button.textContent = idle;
    button.disabled = false;
  }
}

/* ---------- toast ---------- */

let toastTimer: ReturnType<typeof setTimeout> | undefined;
function toast(text: string, isError = false): void {
  const box = $('#toast');
  box.textContent = text;
  box.classList.toggle('error', isError);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), 3500);
}

/** "title must be …" → "Title must be …": the server's words, set as a sentence. */
function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function message(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof TypeError) return 'The service cannot be reached.';
  return err instanceof Error ? err.message : String(err);
}

/* ---------- start ---------- */

renderConnection({ state: source.state, lastEventId: null });
show('loading');
void checkSession();
