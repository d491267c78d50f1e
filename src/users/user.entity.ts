import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { PublicUser, Role } from '../../client/wire.js';

/** PublicUser (what the API shows of a user) and Role are wire types, defined in client/wire.ts. */
export type { PublicUser, Role } from '../../client/wire.js';

export const ROLES = ['user', 'admin'] as const satisfies readonly Role[];
const everyRoleListed: [Exclude<Role, (typeof ROLES)[number]>] extends [never] ? true : never = true;
void everyRoleListed;

@Entity({ name: 'users' })
export class UserEntity {
  /** bigint: kept as a decimal string, as pg returns it. */
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'text' })
  email: string;

  @Column({ name: 'password_hash', type: 'text', select: false })
  passwordHash: string;

  @Column({ type: 'text' })
  role: Role;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt: Date | null;
}

export function toPublicUser(u: UserEntity): PublicUser {
  return { id: u.id, email: u.email, role: u.role, displayName: u.displayName };
}
