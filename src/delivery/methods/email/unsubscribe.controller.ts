import { BadRequestException, Controller, Get, Header, Headers, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CsrfExempt } from '../../../auth/csrf.js';
import { API_CSP } from '../../../common/security-headers.js';
import { UnsubscribedDto, UnsubscribeQueryDto } from './unsubscribe.dto.js';
import { Unsubscribe } from './unsubscribe.js';

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
