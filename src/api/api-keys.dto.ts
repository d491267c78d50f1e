import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class CreateApiKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'warehouse' })
  @IsString({ message: 'name must be a string' })
  @Length(1, 200, { message: 'name must be 1 to 200 characters' })
  name: string;
}

export class NewApiKeyDto {
  @ApiProperty({ example: '1' }) id: string;
  @ApiProperty({ example: 'warehouse' }) name: string;
  @ApiProperty({ example: 'nk_Gd3kP0aQ', description: 'The first characters of the key, to tell keys apart' })
  prefix: string;
  @ApiProperty({ description: 'nk_ and 43 random characters: shown only in this answer, stored only hashed' })
  key: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class ApiKeyDto {
  @ApiProperty({ example: '1' }) id: string;
  @ApiProperty({ example: 'warehouse' }) name: string;
  @ApiProperty({ example: 'nk_Gd3kP0aQ' }) prefix: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'To the minute' })
  lastUsedAt: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revokedAt: string | null;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] }) items: ApiKeyDto[];
}
