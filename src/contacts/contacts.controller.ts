import { Body, Controller, Delete, Get, HttpCode, Post, Put } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { ContactsDto, PhoneCodeDto, PhoneDto, PhoneNumberDto } from './contacts.dto.js';
import { ContactsService } from './contacts.service.js';

@ApiTags('contacts')
@Authenticated()
@Controller('contacts')
export class ContactsController {
  constructor(private readonly contacts: ContactsService) {}

  @Get()
  @ApiOkResponse({ type: ContactsDto })
  get(@CurrentUser() user: SessionUser) {
    return this.contacts.of(user.id);
  }

  @Put('phone')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: PhoneDto, description: 'A 6-digit code, valid 10 minutes, is on its way by SMS' })
  @ApiBadRequestResponse({ description: 'Not E.164, or the SMS provider refused the number' })
  @ApiTooManyRequestsResponse({ description: 'More than 3 codes in the past hour' })
  setPhone(@CurrentUser() user: SessionUser, @Body() body: PhoneNumberDto) {
    return this.contacts.setPhone(user.id, body.number);
  }

  @Post('phone/verify')
  @HttpCode(200)
  @ApiOkResponse({ type: PhoneDto })
  @ApiBadRequestResponse({ description: 'Wrong code, or no valid code (expired, or 5 wrong tries)' })
  @ApiNotFoundResponse({ description: 'No phone number set' })
  verify(@CurrentUser() user: SessionUser, @Body() body: PhoneCodeDto) {
    return this.contacts.verify(user.id, body.code);
  }

  @Delete('phone')
  @HttpCode(204)
  @ApiNoContentResponse()
  async removePhone(@CurrentUser() user: SessionUser): Promise<void> {
    await this.contacts.removePhone(user.id);
  }
}
