import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { conflict } from '../common/domain-error.js';
import { normalizeEmail } from './email.js';
import { hashPassword } from './password.js';
import { Role, UserEntity } from './user.entity.js';

export interface NewUser {
  email: string;
  password: string;
  role: Role;
  displayName?: string | null;
  /** BCP 47, canonical (src/users/locale.ts); default `en`. */
  locale?: string;
}

@Injectable()
export class UsersService {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  async create(input: NewUser): Promise<UserEntity> {
    const passwordHash = await hashPassword(input.password);
    try {
      const rows: UserEntity[] = await this.users.manager.query(
        `INSERT INTO users (email, password_hash, role, display_name, locale) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, email, role, display_name AS "displayName", created_at AS "createdAt", disabled_at AS "disabledAt"`,
        [normalizeEmail(input.email), passwordHash, input.role, input.displayName ?? null, input.locale ?? 'en'],
      );
      return rows[0];
    } catch (err) {
      if (err instanceof QueryFailedError && (err.driverError as { code?: string }).code === '23505') {
        throw conflict('Email is already registered');
      }
      throw err;
    }
  }

  findById(id: string): Promise<UserEntity | null> {
    if (!/^\d{1,18}$/.test(id)) return Promise.resolve(null);
    return this.users.findOne({ where: { id } });
  }

  /** With the password hash, for sign-in only. */
  async findForLogin(email: string): Promise<UserEntity | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.email = :email', { email: normalizeEmail(email) })
      .getOne();
  }

  async existsByEmail(email: string): Promise<boolean> {
    return this.users
      .createQueryBuilder('u')
      .where('u.email = :email', { email: normalizeEmail(email) })
      .getExists();
  }

  count(): Promise<number> {
    return this.users.count();
  }
}
