import { Body, Controller, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import { CreateUserDto, UserDto } from '../auth/auth.dto.js';
import { AuthService } from '../auth/auth.service.js';
import { Authenticated } from '../auth/authenticated.decorator.js';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly auth: AuthService) {}

  @Post()
  @ApiCreatedResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'Email already registered' })
  create(@Body() body: CreateUserDto) {
    return this.auth.register(body);
  }
}
