import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsOptional, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';
import { ROLES, type Role } from '../users/user.entity.js';

export class LoginDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsString()
  @Length(1, 254)
  email: string;

  @ApiProperty({ example: 'correct horse battery' })
  @IsString()
  @Length(1, 1024)
  password: string;
}

export class RegisterDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsString()
  @IsEmail({}, { message: 'email must be a valid email address' })
  // isEmail lets control characters through in a quoted local part; mail software drops them,
  // so "a\u0001"@x would be a second account whose email goes to a@x.
  @Matches(/^\P{Cc}*$/u, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: 8, maxLength: 1024 })
  @IsString()
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @MaxLength(1024)
  password: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 100 })
  @IsOptional()
  @IsString()
  @Length(1, 100, { message: 'displayName must be 1 to 100 characters' })
  displayName?: string;
}

export class CreateUserDto extends RegisterDto {
  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role: Role;
}

export class UserDto {
  @ApiProperty({ example: '7' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty({ nullable: true, type: String }) displayName: string | null;
}

export class CsrfDto {
  @ApiProperty() csrfToken: string;
}

export class LoginResultDto {
  @ApiProperty({ type: UserDto }) user: UserDto;
  @ApiProperty() csrfToken: string;
}
