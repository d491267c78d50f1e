import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import type { Channel } from '../../../notifications/notification.types.js';
import { PreferencesService } from '../../../notifications/preferences.service.js';
import { UnsubscribeTokens } from './unsubscribe-token.js';

export type UnsubscribeOutcome =
  | { status: 'off'; channels: Channel[] }
  /** The user changed these channels' email setting since the link was sent: it is spent. */
  | { status: 'stale' }
  | { status: 'invalid' };

@Injectable()
export class Unsubscribe {
  private readonly tokens: UnsubscribeTokens;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly preferences: PreferencesService,
  ) {
    this.tokens = new UnsubscribeTokens(config.sessionSecret);
  }

  /**
   * Email off for the token's channels, if their email setting has not changed since it was
   * sent. Turning them off is such a change, so a token works once; a repeat finds them off
   * already and answers the same, changing nothing.
   */
  async apply(token: string): Promise<UnsubscribeOutcome> {
    const t = this.tokens.verify(token);
    if (!t) return { status: 'invalid' };
    const result = await this.preferences.unsubscribe(t.userId, 'email', t.channels, t.issuedAt);
    return result === 'stale' ? { status: 'stale' } : { status: 'off', channels: t.channels };
  }
}
