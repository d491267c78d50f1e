import type { Role } from '../users/user.entity.js';

/** The signed-in user as every request sees it (loaded fresh from the database per request). */
export interface SessionUser {
  id: string;
  email: string;
  role: Role;
  displayName: string | null;
  createdAt: Date;
}

declare module 'express-session' {
  interface SessionData {
    csrfToken?: string;
    passport?: { user?: string };
  }
}
