import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { PublicUser, Role, toPublicUser } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';

export interface BootstrapAdmin {
  email: string;
  generatedPassword?: string;
  created: boolean;
}

@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly users: UsersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async register(input: {
    email: string;
    password: string;
    displayName?: string;
    role?: Role;
    locale?: string;
  }): Promise<PublicUser> {
    const user = await this.users.create({ ...input, role: input.role ?? 'user' });
    return toPublicUser(user);
  }

  /**
   * Creates the bootstrap admin if no account has ADMIN_EMAIL. In development
   * without ADMIN_PASSWORD, a password is generated and returned once so that
   * main.ts can print it; it is never stored anywhere but as a hash.
   */
  async ensureBootstrapAdmin(): Promise<BootstrapAdmin> {
    const { email, password } = this.config.admin;
    if (await this.users.existsByEmail(email)) return { email, created: false };
    const generated = password ? undefined : randomBytes(12).toString('base64url');
    try {
      await this.users.create({ email, password: password ?? generated!, role: 'admin', displayName: 'Administrator' });
    } catch (err) {
      // Another instance created it at the same moment.
      if (await this.users.existsByEmail(email)) return { email, created: false };
      throw err;
    }
    this.logger.log(`Bootstrap admin ${email} created`);
    return { email, generatedPassword: generated, created: true };
  }
}
