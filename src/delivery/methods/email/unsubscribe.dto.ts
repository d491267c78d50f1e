import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

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
