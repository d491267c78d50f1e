import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { CHAT_KINDS, type ChatKind } from '../../delivery/methods/chat/chat-formats.js';

export class AddChatDestinationDto {
  @ApiProperty({ enum: CHAT_KINDS })
  @IsIn(CHAT_KINDS)
  kind: ChatKind;

  @ApiProperty({
    description: 'The incoming webhook URL (a secret: never returned)',
    example: 'https://hooks.slack.com/services/T000/B000/XXXX',
  })
  @IsString()
  @MaxLength(2048)
  url: string;

  @ApiPropertyOptional({ description: 'How the page lists it; the kind by default', maxLength: 80 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(80)
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'label must not contain control characters' })
  label?: string;
}

export class ChatDestinationDto {
  @ApiProperty({ example: '1' })
  id: string;

  @ApiProperty({ enum: CHAT_KINDS })
  kind: ChatKind;

  @ApiProperty({ example: 'Team channel' })
  label: string;

  @ApiProperty({ description: "The URL's host, for display", example: 'hooks.slack.com' })
  host: string;
}
