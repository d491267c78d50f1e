import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { PageQueryDto } from '../common/page-query.dto.js';

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

export class DeliveryDto {
  @ApiProperty({ enum: ['push', 'email'] }) method: string;
  @ApiProperty({ enum: ['scheduled', 'sent', 'failed', 'cancelled'] }) status: string;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: String }) sentAt: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
}

export class AdminDeliveryDto extends DeliveryDto {
  @ApiProperty() id: string;
  @ApiProperty() notificationId: string;
  @ApiProperty() userId: string;
}

export class AdminDeliveryPageDto {
  @ApiProperty({ type: [AdminDeliveryDto] }) items: AdminDeliveryDto[];
  @ApiProperty({ nullable: true, type: String }) nextBefore: string | null;
}

export class AdminDeliveriesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['scheduled', 'sent', 'failed', 'cancelled'] })
  @IsOptional()
  @IsIn(['scheduled', 'sent', 'failed', 'cancelled'])
  status?: 'scheduled' | 'sent' | 'failed' | 'cancelled';
}

export class UnsubscribeQueryDto {
  @ApiProperty({ description: 'The signed token from the email' })
  @IsString()
  @MaxLength(200)
  token: string;
}

export class UnsubscribedDto {
  @ApiProperty({ example: ['order'] }) channels: string[];
  @ApiProperty({ example: 'Email for order notifications is off.' }) message: string;
}
