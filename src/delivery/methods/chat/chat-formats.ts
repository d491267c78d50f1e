import { localesIn, translator } from '../../../common/i18n.js';

/** The chat services a destination may be: each takes a JSON body of its own shape. */
export const CHAT_KINDS = ['slack', 'discord', 'teams'] as const;
export type ChatKind = (typeof CHAT_KINDS)[number];

/** What a chat message says about one notification. */
export interface ChatItem {
  readonly title: string;
  readonly body: string;
  /** Links the notification offers (its actions), shown as buttons where the service has them. */
  readonly links?: ReadonlyArray<{ readonly label: string; readonly url: string }>;
}

/** One message: one notification, or a digest of several (newest first). */
export interface ChatContent {
  readonly items: readonly ChatItem[];
  /** The inbox page: PUBLIC_URL + "/". */
  readonly inboxUrl: string;
  /** Overrides the digest's heading ("3 new notifications"), e.g. for the test message. */
  readonly heading?: string;
  /** The user's (BCP 47): the message's own words (locales/); default `en`. */
  readonly locale?: string;
}

/** Chat's own words per locale (locales/), for the messages and the destination's test message. */
export const chatTexts = translator(localesIn(new URL('./locales/', import.meta.url)));
const texts = chatTexts;

/** At most this many notifications are written out in a digest; the rest are counted. */
export const DIGEST_ITEMS = 10;

export function chatMessage(kind: ChatKind, content: ChatContent): Record<string, unknown> {
  if (content.items.length === 0) throw new Error('a chat message needs at least one notification');
  if (kind === 'slack') return slackMessage(content);
  if (kind === 'discord') return discordMessage(content);
  return teamsMessage(content);
}

const words = (c: ChatContent) => {
  const t = texts(c.locale ?? 'en');
  return {
    openInbox: t('openInbox'),
    newNotification: t('newNotification'),
    shownMore: (shown: number, more: number) => t('shownMore', { shown, more }),
    andMore: (more: number) => t('andMore', { more }),
  };
};
const heading = (c: ChatContent) => c.heading ?? texts(c.locale ?? 'en')('count', { count: c.items.length });
const digest = (c: ChatContent) => c.items.length > 1;
const shown = (c: ChatContent) => c.items.slice(0, DIGEST_ITEMS);
const more = (c: ChatContent) => c.items.length - shown(c).length;

/** Cuts at `max` characters (code points, so no half surrogate pair), ending with "…" when cut. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Slack's three control characters (its "mrkdwn" and `<!channel>`-style mentions): nothing else. */
export const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Slack incoming webhook: `text` is the notification's fallback (and what its push shows);
 * Block Kit sections in mrkdwn (3,000 characters each), then the links as buttons (an
 * `actions` block: at most 25 elements, 75-character labels).
 */
function slackMessage(c: ChatContent): Record<string, unknown> {
  const section = (item: ChatItem) => ({
    type: 'section',
    text: { type: 'mrkdwn', text: clip(`*${slackEscape(item.title)}*\n${slackEscape(item.body)}`, 3000) },
  });
  const button = (text: string, url: string, primary = false) => ({
    type: 'button',
    text: { type: 'plain_text', text: clip(text, 75) },
    url,
    ...(primary ? { style: 'primary' } : {}),
  });
  const links = digest(c) ? [] : (c.items[0].links ?? []);
  const blocks: unknown[] = [];
  if (digest(c)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(heading(c))}*` } });
    blocks.push(...shown(c).map(section));
    if (more(c) > 0) {
      blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: words(c).andMore(more(c)) }] });
    }
  } else {
    blocks.push(section(c.items[0]));
  }
  blocks.push({
    type: 'actions',
    elements: [
      ...links.slice(0, 4).map((l) => button(l.label, l.url)),
      button(words(c).openInbox, c.inboxUrl, links.length === 0),
    ],
  });
  const text = digest(c)
    ? `${heading(c)}: ${c.items[0].title}`
    : c.heading
      ? `${c.heading}: ${c.items[0].title}`
      : c.items[0].title;
  return { text: clip(slackEscape(text), 3000), blocks };
}

/** Discord's limits: content 2,000; an embed's title 256, description 4,096; 6,000 over all embeds. */
const DISCORD = { content: 2000, title: 256, description: 4096, total: 6000 };

/**
 * Discord webhook: `content` names the message, one embed per notification (a digest's at most
 * DIGEST_ITEMS of Discord's 10), each linking to the inbox. `allowed_mentions` with no `parse`:
 * an `@everyone` in a title does not ping a whole server.
 */
function discordMessage(c: ChatContent): Record<string, unknown> {
  const items = shown(c);
  // The 6,000 characters shared out: every title whole (≤ 256), the descriptions what is left.
  const titles = items.map((i) => clip(i.title, DISCORD.title) || '(no title)');
  const titleChars = titles.reduce((n, t) => n + Array.from(t).length, 0);
  const perDescription = Math.min(DISCORD.description, Math.floor((DISCORD.total - titleChars) / items.length) - 1);
  const embeds = items.map((item, i) => {
    const links = (item.links ?? []).map((l) => `[${l.label}](${l.url})`).join(' · ');
    const description = clip([item.body, links].filter(Boolean).join('\n\n'), perDescription);
    return { title: titles[i], ...(description ? { description } : {}), url: c.inboxUrl };
  });
  const content = digest(c)
    ? `${heading(c)}${more(c) > 0 ? ` (${words(c).shownMore(items.length, more(c))})` : ''}: ${c.inboxUrl}`
    : c.heading
      ? `${c.heading}: ${c.inboxUrl}`
      : `${words(c).newNotification}: ${c.inboxUrl}`;
  return { content: clip(content, DISCORD.content), embeds, allowed_mentions: { parse: [] } };
}

/**
 * Teams "Workflows" (Power Automate) webhook: a message with one Adaptive Card 1.4 attachment,
 * TextBlocks (wrapping) and `Action.OpenUrl` buttons. Classic Office 365 connectors took the
 * same envelope.
 */
function teamsMessage(c: ChatContent): Record<string, unknown> {
  const block = (text: string, extra: Record<string, unknown> = {}) => ({
    type: 'TextBlock',
    text: clip(text, 4000),
    wrap: true,
    ...extra,
  });
  const itemBlocks = (item: ChatItem, separator: boolean) => [
    block(item.title, { weight: 'Bolder', size: digest(c) ? 'Default' : 'Medium', separator }),
    ...(item.body ? [block(item.body, { spacing: 'Small' })] : []),
  ];
  const body = digest(c)
    ? [
        block(heading(c), { weight: 'Bolder', size: 'Medium' }),
        ...shown(c).flatMap((item, i) => itemBlocks(item, i > 0)),
        ...(more(c) > 0 ? [block(words(c).andMore(more(c)), { isSubtle: true })] : []),
      ]
    : [...(c.heading ? [block(c.heading, { isSubtle: true })] : []), ...itemBlocks(c.items[0], false)];
  const links = digest(c) ? [] : (c.items[0].links ?? []);
  const actions = [
    ...links.slice(0, 4).map((l) => ({ type: 'Action.OpenUrl', title: l.label, url: l.url })),
    { type: 'Action.OpenUrl', title: words(c).openInbox, url: c.inboxUrl },
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions,
        },
      },
    ],
  };
}
