import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';

export class PushKeysDto {
  @ApiProperty({ description: "The browser's P-256 public key, base64url (65 bytes)" })
  @IsString()
  @MaxLength(200)
  p256dh: string;

  @ApiProperty({ description: 'The 16-byte auth secret, base64url' })
  @IsString()
  @MaxLength(100)
  auth: string;
}

/** PushSubscription.toJSON(), minus expirationTime (accepted and ignored). */
export class PushSubscriptionDto {
  @ApiProperty({ example: 'https://fcm.googleapis.com/fcm/send/…' })
  @IsString()
  @MaxLength(2048)
  endpoint: string;

  @ApiProperty({ type: PushKeysDto })
  @IsObject()
  @ValidateNested()
  @Type(() => PushKeysDto)
  keys: PushKeysDto;

  @ApiPropertyOptional({ nullable: true, type: Number })
  @IsOptional()
  expirationTime?: number | null;
}

export class PushEndpointDto {
  @ApiProperty()
  @IsString()
  @MaxLength(2048)
  endpoint: string;
}

export class PushPublicKeyDto {
  @ApiProperty({ description: 'VAPID public key, base64url: the applicationServerKey' }) publicKey: string;
}
