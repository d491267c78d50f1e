import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, Matches } from 'class-validator';
import { LimitProperty } from '../common/page-query.dto.js';
import { MAX_RECIPIENTS } from './publish.dto.js';

export class SubscribersDto {
  @ApiProperty({ type: [String], minItems: 1, maxItems: MAX_RECIPIENTS, example: ['7', '8'] })
  @IsArray({ message: 'userIds must be an array' })
  @ArrayMinSize(1, { message: 'userIds must not be empty' })
  @ArrayMaxSize(MAX_RECIPIENTS, { message: `userIds may list at most ${MAX_RECIPIENTS} users` })
  @Matches(/^[1-9]\d{0,17}$/, { each: true, message: 'userIds must be decimal user ids as strings' })
  userIds: string[];
}

export class SubscribersQueryDto {
  @LimitProperty(1000, 100)
  limit?: number;

  @ApiPropertyOptional({ description: "Only subscribers with a greater user id (the previous page's next)" })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'after must be a decimal user id' })
  after?: string;
}

export class SubscriberDto {
  @ApiProperty({ example: '7' }) userId: string;
  @ApiProperty({ format: 'date-time' }) subscribedAt: string;
}

export class SubscriberPageDto {
  @ApiProperty({ type: [SubscriberDto], description: 'By user id' }) items: SubscriberDto[];
  @ApiProperty({ type: String, nullable: true, description: 'The `after` of the next page; null on the last' })
  next: string | null;
}

export class TopicSubscriptionDto {
  @ApiProperty({ example: 'restock.sku-1' }) key: string;
  @ApiProperty({ format: 'date-time' }) subscribedAt: string;
}

export class TopicListDto {
  @ApiProperty({ type: [TopicSubscriptionDto] }) items: TopicSubscriptionDto[];
}
