import type { NotificationAction, Severity } from '../../client/wire.js';
import { channelEvents } from '../events/domain-events.js';
import type { Translations } from '../events/translations.dto.js';

// BroadcastEnvelope: the augmented module's own (audience, expiry, sender, delivery).
declare module '../events/domain-events.js' {
  interface BroadcastEventMap {
    'system.broadcast': BroadcastEnvelope & {
      title: string;
      body: string;
      severity: Severity;
      actions?: NotificationAction[];
      translations?: Translations;
    };
  }
}

export const SYSTEM_EVENTS = channelEvents('system', {
  'system.broadcast': (p) => ({
    severity: p.severity,
    title: p.title,
    body: p.body,
    data: {},
    ...(p.actions?.length ? { actions: p.actions } : {}),
    ...(p.translations ? { translations: p.translations } : {}),
  }),
});
