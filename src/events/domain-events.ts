import type { Audience, Channel, DeliveryMethod, NotificationAction, Severity } from '../../client/wire.js';
import type { BroadcastDraft, PersonalDraft, Translations } from '../notifications/notification.types.js';

export { SEVERITIES } from '../notifications/notification.types.js';

/**
 * THE CATALOGUE OF DOMAIN EVENTS: each source adds its events' payloads to the
 * maps below and their renderings in its own folder (src/orders/order.events.ts);
 * the compiler checks every event against them. A program outside the server's
 * build (a test) sees a source's events once it imports that events file.
 */

/** Events addressed to one user. Each source adds its own (`declare module`). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PersonalEventMap {}

/** Events with an audience rather than one recipient: stored once, whatever its size. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface BroadcastEventMap {}

/** What every broadcast carries besides what it shows. */
export interface BroadcastEnvelope {
  audience: Audience;
  expiresAt: Date | null;
  sentBy: string | null;
  /** Beyond in-app: by these methods to audience members who did not see it (empty: in-app only). */
  deliver: DeliveryMethod[];
}

export type DomainEventMap = PersonalEventMap & BroadcastEventMap;
export type DomainEventName = keyof DomainEventMap;
export type PersonalEventName = keyof PersonalEventMap;
export type BroadcastEventName = keyof BroadcastEventMap;

// An event is named `<channel>.<what>`, on a channel of the registry.
const everyEventOnAChannel: [Exclude<DomainEventName, `${Channel}.${string}`>] extends [never] ? true : never = true;
void everyEventOnAChannel;

/** What a notification shows, apart from where it goes. */
export interface Rendering {
  severity: Severity;
  title: string;
  body: string;
  data: Record<string, unknown>;
  /** Buttons (at most 3): what the user can do about it. */
  actions?: NotificationAction[];
  /** A broadcast's texts per locale, picked per viewer; personal rows are rendered in their user's locale instead. */
  translations?: Translations;
}

/** Whom a notification is rendered for: their locale (BCP 47, canonical) and the shop's currency. */
export interface RenderContext {
  locale: string;
  /** ISO 4217 (CURRENCY): amounts in the payloads are its minor units. */
  currency: string;
}

/** How each event of one channel reads: every one of them, and no other. */
export type ChannelRenderers<C extends Channel> = {
  readonly [K in DomainEventName as K extends `${C}.${string}` ? K : never]: (
    payload: DomainEventMap[K],
    context: RenderContext,
  ) => Rendering;
};

/** One source's part of the catalogue. */
export interface ChannelEvents<C extends Channel> {
  readonly channel: C;
  readonly render: ChannelRenderers<C>;
}

/** Any source's part. */
export type SomeChannelEvents = { [C in Channel]: ChannelEvents<C> }[Channel];

export function channelEvents<C extends Channel>(channel: C, render: ChannelRenderers<C>): ChannelEvents<C> {
  return { channel, render };
}

/** A personal event as emitters write it: `{ type, recipient, payload }`, checked per type. */
export type PersonalEvent = {
  [K in PersonalEventName]: { type: K; recipient: string; payload: PersonalEventMap[K] };
}[PersonalEventName];

type AnyRenderer = (payload: never, context: RenderContext) => Rendering;

/** Every source's events, by name: how an event becomes a notification draft. */
export class EventCatalogue {
  private readonly entries = new Map<string, { channel: Channel; render: AnyRenderer }>();

  /** `currency`: CURRENCY, what the payloads' amounts are in. */
  constructor(
    parts: readonly SomeChannelEvents[],
    private readonly currency = 'EUR',
  ) {
    for (const { channel, render } of parts) {
      for (const [type, fn] of Object.entries(render) as Array<[string, AnyRenderer]>) {
        if (this.entries.has(type)) throw new Error(`Event ${type} is in the catalogue twice`);
        this.entries.set(type, { channel, render: fn });
      }
    }
  }

  get types(): string[] {
    return [...this.entries.keys()];
  }

  /** How a notification of this event reads in `locale`, and on which channel. */
  render<K extends DomainEventName>(
    type: K,
    payload: DomainEventMap[K],
    locale = 'en',
  ): Rendering & { channel: Channel } {
    const entry = this.entries.get(type);
    if (!entry) throw new Error(`Event ${type} is not in the catalogue (src/sources.ts)`);
    const render = entry.render as (p: DomainEventMap[K], c: RenderContext) => Rendering;
    return { channel: entry.channel, ...render(payload, { locale, currency: this.currency }) };
  }

  /** A personal row is for one user: written in their language (docs/decisions.md, "Languages"). */
  personal(event: PersonalEvent, locale = 'en'): PersonalDraft {
    return { userId: event.recipient, type: event.type, ...this.render(event.type, event.payload as never, locale) };
  }

  broadcast<K extends BroadcastEventName>(type: K, payload: BroadcastEventMap[K] & BroadcastEnvelope): BroadcastDraft {
    return {
      type,
      ...this.render(type, payload),
      audience: payload.audience,
      expiresAt: payload.expiresAt,
      createdBy: payload.sentBy,
      deliver: payload.deliver,
    };
  }
}
