import { Injectable } from '@nestjs/common';
import { SessionRevocations } from '../auth/session-revocations.js';
import { DomainError, invalid, notFound } from '../common/domain-error.js';
import { TransactionRunner } from '../database/transaction.js';
import type { Role } from '../users/user.entity.js';

export interface UserChange {
  role?: Role;
  disabled?: boolean;
}

/** A user as an admin sees it: the public fields and whether the account is disabled. */
export interface AdminUserView {
  id: string;
  email: string;
  role: Role;
  displayName: string | null;
  disabled: boolean;
}

/**
 * What an admin does to existing accounts. A role change or a disable is a
 * change of privilege, so it signs the user out everywhere: their sessions are
 * deleted in the same transaction and, once committed, their open streams end
 * on every instance (SessionRevocations, relayed by the bus). Their next
 * request, or their browser's stream reconnect, gets 401.
 */
@Injectable()
export class UsersAdminService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly revocations: SessionRevocations,
  ) {}

  async update(actorId: string, userId: string, change: UserChange): Promise<AdminUserView> {
    if (change.role === undefined && change.disabled === undefined) throw invalid('Give role and/or disabled');
    // An admin who demotes or disables themselves could leave nobody to undo it.
    if (actorId === userId) throw new DomainError('CONFLICT', 'You cannot change your own role or disable yourself');
    const { user, revoke } = await this.transactions.run(async (tx) => {
      const [before]: Array<{ role: Role; disabled: boolean }> = await tx.manager.query(
        `SELECT role, disabled_at IS NOT NULL AS disabled FROM users WHERE id = $1 FOR UPDATE`,
        [userId],
      );
      if (!before) throw notFound('User not found');
      const [after]: AdminUserView[] = await tx.manager.query(
        `WITH changed AS (
           UPDATE users
              SET role = COALESCE($2, role),
                  disabled_at = CASE WHEN $3::boolean IS NULL THEN disabled_at
                                     WHEN $3::boolean THEN COALESCE(disabled_at, now())
                                     ELSE NULL END
            WHERE id = $1
            RETURNING id::text, email, role, display_name AS "displayName", disabled_at IS NOT NULL AS disabled)
         SELECT * FROM changed`,
        [userId, change.role ?? null, change.disabled ?? null],
      );
      const revoke = after.role !== before.role || (after.disabled && !before.disabled);
      if (revoke) {
        // Sessions store the user id as passport.user (see SessionSerializer).
        await tx.manager.query(`DELETE FROM sessions WHERE sess #>> '{passport,user}' = $1`, [userId]);
      }
      return { user: after, revoke };
    });
    if (revoke) this.revocations.revoke({ kind: 'user', userId });
    return user;
  }
}
