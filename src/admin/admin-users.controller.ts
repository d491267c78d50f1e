import { Body, Patch, Post } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiPropertyOptional,
} from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { CreateUserDto, UserDto } from '../auth/auth.dto.js';
import { AuthService } from '../auth/auth.service.js';
import { AdminController, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { IdParam } from '../common/id-param.js';
import { ROLES, type Role } from '../users/user.entity.js';
import { type AdminUserView, UsersAdminService } from './users-admin.service.js';

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ description: 'true disables the account (its sessions and streams end); false enables it' })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;
}

@AdminController('users')
export class AdminUsersController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersAdminService,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'Email already registered' })
  create(@Body() body: CreateUserDto) {
    return this.auth.register(body);
  }

  @Patch(':id')
  @ApiOkResponse({
    description:
      'The user. A role change or a disable signs the user out: their sessions are deleted and their open streams ' +
      'end on every instance within a second; the reconnect gets 401.',
    schema: { example: { id: '7', email: 'bob@example.com', role: 'user', displayName: null, disabled: true } },
  })
  @ApiNotFoundResponse({ description: 'No such user' })
  @ApiConflictResponse({ description: 'An admin changing their own role or disabling themselves' })
  update(
    @CurrentUser() admin: SessionUser,
    @IdParam() id: string,
    @Body() body: UpdateUserDto,
  ): Promise<AdminUserView> {
    return this.users.update(admin.id, id, body);
  }
}
