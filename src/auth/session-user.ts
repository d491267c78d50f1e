import type { Role } from '../users/user.entity.js';

/** The signed-in user as every request sees it (loaded fresh from the database per request). */
export interface SessionUser {
  id: string;
  email: string;
  role: Role;
  displayName: string | null;
  createdAt: Date;
  /** BCP 47 (users.locale); read when a stream opens, for the language it shows broadcasts in. */
  locale?: string;
}

declare module 'express-session' {
  interface SessionData {
    csrfToken?: string;
    passport?: { user?: string };
  }
}
