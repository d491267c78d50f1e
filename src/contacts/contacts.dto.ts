import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

export class PhoneNumberDto {
  @ApiProperty({ example: '+491701234567', description: 'E.164: + and 8 to 15 digits' })
  @IsString()
  @Matches(/^\+[0-9]{8,15}$/, { message: 'number must be E.164: + and 8 to 15 digits' })
  number: string;
}

export class PhoneCodeDto {
  @ApiProperty({ example: '123456' })
  @IsString()
  @Matches(/^[0-9]{6}$/, { message: 'code must be 6 digits' })
  code: string;
}

export class PhoneDto {
  @ApiProperty() number: string;
  @ApiProperty() verified: boolean;
}

export class ChatContactDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['slack', 'discord', 'teams'] }) kind: string;
  @ApiProperty() label: string;
  @ApiProperty({ description: "The destination's host; the URL itself is a secret and never returned" }) host: string;
}

export class ContactsDto {
  @ApiProperty({ type: PhoneDto, nullable: true }) phone: PhoneDto | null;
  @ApiProperty({ type: [ChatContactDto] }) chat: ChatContactDto[];
}
