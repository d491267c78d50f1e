import {
  Controller,
  ForbiddenException,
  Header,
  Headers,
  HttpCode,
  Inject,
  PayloadTooLargeException,
  Post,
  Req,
} from '@nestjs/common';
import { ApiConsumes, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { CsrfExempt } from '../../../auth/csrf.js';
import { BODY_LIMIT } from '../../../common/body-parsing.js';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import { CHANNELS, perKey } from '../../../notifications/notification.types.js';
import { PreferencesService } from '../../../notifications/preferences.service.js';
import { ContactsService } from '../../../contacts/contacts.service.js';
import { validTwilioSignature } from './twilio-signature.js';

/** The opt-out keywords carriers and Twilio honour; START switches nothing back on. */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);

/**
 * Twilio's inbound-message webhook: a form POST with no session and no CSRF token, accepted only
 * with a valid X-Twilio-Signature. A STOP switches SMS off for every channel of the number's users.
 */
@ApiTags('sms')
@Controller('sms')
export class SmsInboundController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly contacts: ContactsService,
    private readonly preferences: PreferencesService,
  ) {}

  @Post('inbound')
  @CsrfExempt()
  @HttpCode(200)
  @Header('Content-Type', 'text/xml; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiProduces('text/xml')
  @ApiOkResponse({
    description: '`<Response/>`. Needs a valid X-Twilio-Signature (403 otherwise); no session or CSRF token',
  })
  async inbound(@Req() req: Request, @Headers('x-twilio-signature') signature?: string): Promise<string> {
    const fields = [...new URLSearchParams(await readForm(req))];
    const token = this.config.delivery.sms?.authToken;
    const url = `${this.config.delivery.publicUrl}/sms/inbound`;
    if (!token || !validTwilioSignature(token, url, fields, signature)) {
      throw new ForbiddenException('Missing or invalid X-Twilio-Signature');
    }
    const form = new Map(fields);
    const from = form.get('From') ?? '';
    if (STOP_WORDS.has((form.get('Body') ?? '').trim().toUpperCase())) {
      for (const userId of await this.contacts.usersOfNumber(from)) {
        await this.preferences.update(userId, { delivery: perKey(CHANNELS, () => ({ sms: false })) });
      }
    }
    return '<?xml version="1.0" encoding="UTF-8"?><Response/>';
  }
}

/** The form body as text: nothing parses urlencoded bodies for the rest of the API. */
async function readForm(req: Request): Promise<string> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new PayloadTooLargeException(`Request body is larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
