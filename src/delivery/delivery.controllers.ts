import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Headers,
  HttpCode,
  Inject,
  NotFoundException,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import { CsrfExempt } from '../auth/csrf.js';
import type { SessionUser } from '../auth/session-user.js';
import { IdParam } from '../common/id-param.js';
import { API_CSP } from '../common/security-headers.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import {
  AdminDeliveriesQueryDto,
  AdminDeliveryPageDto,
  DeliveryDto,
  PushEndpointDto,
  PushPublicKeyDto,
  PushSubscriptionDto,
  UnsubscribedDto,
  UnsubscribeQueryDto,
} from './delivery.dto.js';
import { DeliveryLog } from './delivery-log.js';
import { PushSubscriptions } from './push-subscriptions.js';
import { Unsubscribe } from './unsubscribe.js';

@ApiTags('push')
@Controller('push')
export class PushController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly subscriptions: PushSubscriptions,
  ) {}

  @Get('public-key')
  @ApiOkResponse({ type: PushPublicKeyDto })
  publicKey() {
    return { publicKey: this.config.delivery.vapid.publicKey };
  }

  @Post('subscriptions')
  @Authenticated()
  @HttpCode(201)
  @ApiCreatedResponse({ description: "This browser's subscription is stored (or moved to this user)" })
  @ApiBadRequestResponse({ description: 'Endpoint outside PUSH_ENDPOINT_ALLOWLIST, or malformed keys' })
  async subscribe(@CurrentUser() user: SessionUser, @Body() body: PushSubscriptionDto): Promise<void> {
    await this.subscriptions.add(user.id, body.endpoint, body.keys);
  }

  @Delete('subscriptions')
  @Authenticated()
  @HttpCode(204)
  @ApiNoContentResponse({ description: "Removed if it was this user's" })
  async unsubscribe(@CurrentUser() user: SessionUser, @Body() body: PushEndpointDto): Promise<void> {
    await this.subscriptions.remove(user.id, body.endpoint);
  }
}

@ApiTags('notifications')
@Authenticated()
@Controller('notifications')
export class DeliveriesController {
  constructor(private readonly log: DeliveryLog) {}

  @Get(':id/deliveries')
  @ApiOkResponse({ type: [DeliveryDto], description: 'How it went out by push and email to this user' })
  @ApiNotFoundResponse({ description: 'Not a notification this user may see' })
  async list(@CurrentUser() user: SessionUser, @IdParam() id: string) {
    const items = await this.log.ofNotification(user, id);
    if (!items) throw new NotFoundException('Notification not found');
    return items;
  }
}

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('admin/deliveries')
export class AdminDeliveriesController {
  constructor(private readonly log: DeliveryLog) {}

  @Get()
  @ApiOkResponse({ type: AdminDeliveryPageDto, description: 'Newest first' })
  list(@Query() q: AdminDeliveriesQueryDto) {
    return this.log.list({ status: q.status, limit: q.limit ?? 20, before: q.before });
  }
}

/**
 * The unsubscribe page's policy: the data policy (nothing loads or runs), except that its one
 * form may post back to this origin, which `form-action 'none'` refused: the button did nothing.
 */
const UNSUBSCRIBE_PAGE_CSP = API_CSP.replace("form-action 'none'", "form-action 'self'");

const html = (body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head><body>\n${body}\n</body></html>`;

/**
 * RFC 8058 one-click unsubscribe: the mail provider POSTs to the link with no
 * cookie and no CSRF header; the signed token in the URL is the proof. GET
 * shows a confirmation button (link scanners prefetch GETs: it changes nothing).
 */
@ApiTags('delivery')
@Controller('unsubscribe')
export class UnsubscribeController {
  constructor(private readonly unsubscribe: Unsubscribe) {}

  @Post()
  @CsrfExempt()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ type: UnsubscribedDto, description: 'JSON, or a page for a browser (Accept: text/html)' })
  @ApiBadRequestResponse({ description: 'Invalid or expired token, or email settings changed since it was sent' })
  async post(@Query() q: UnsubscribeQueryDto, @Headers('accept') accept?: string) {
    const outcome = await this.unsubscribe.apply(q.token);
    if (outcome.status === 'invalid') throw new BadRequestException('This unsubscribe link is invalid or has expired');
    if (outcome.status === 'stale') {
      throw new BadRequestException(
        'This unsubscribe link no longer applies: your email settings changed since it was sent',
      );
    }
    const message = `Email for ${outcome.channels.join(', ')} notifications is off.`;
    // The page's button: a browser gets a page back, a mail provider's one-click POST JSON.
    if (accept?.includes('text/html')) return html(`<p id="done">${message}</p>`);
    return { channels: outcome.channels, message };
  }

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Content-Security-Policy', UNSUBSCRIBE_PAGE_CSP)
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'A page with a button that POSTs the same link' })
  page(@Query() q: UnsubscribeQueryDto): string {
    const action = `/unsubscribe?token=${encodeURIComponent(q.token)}`.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    return html(`<form method="post" action="${action}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<p>Stop emails for these notifications?</p><button type="submit">Unsubscribe</button></form>`);
  }
}
