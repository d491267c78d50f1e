import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import type { Channel } from '../notifications/notification.types.js';
import { PreferencesService } from '../notifications/preferences.service.js';
import { UnsubscribeTokens } from './unsubscribe-token.js';

@Injectable()
export class Unsubscribe {
  private readonly tokens: UnsubscribeTokens;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly preferences: PreferencesService,
  ) {
    this.tokens = new UnsubscribeTokens(config.sessionSecret);
  }

  /** Email off for the token's channels; null if the token is not valid. Repeating it is harmless. */
  async apply(token: string): Promise<Channel[] | null> {
    const t = this.tokens.verify(token);
    if (!t) return null;
    const delivery = Object.fromEntries(t.channels.map((c) => [c, { email: false }]));
    await this.preferences.update(t.userId, { delivery });
    return t.channels;
  }
}
