import { Controller, Headers, Query, Req, Sse } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiProduces, ApiQuery, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { type StreamAuth, StreamAuthenticated, StreamSession } from '../auth/stream-auth.js';
import { invalid } from '../common/domain-error.js';
import { CHANNELS, type Channel, isChannel } from './notification.types.js';
import type { SseMessage } from './stream-hub.js';
import { IMMEDIATE_DROP_BYTES } from './slow-client-budget.js';
import { StreamService } from './stream.service.js';

const MAX_ID = 9223372036854775807n;

/** Last-Event-ID: decimal digits only, 0 … 2^63−1. */
export function parseLastEventId(raw: string | undefined): bigint | null {
  if (raw === undefined) return null;
  if (!/^\d{1,19}$/.test(raw)) throw invalid('Last-Event-ID must be a decimal integer from 0 to 9223372036854775807');
  const value = BigInt(raw);
  if (value > MAX_ID) throw invalid('Last-Event-ID must be a decimal integer from 0 to 9223372036854775807');
  return value;
}

export function parseChannels(raw: unknown): Channel[] {
  if (raw === undefined) return [...CHANNELS];
  if (typeof raw !== 'string') throw invalid('channels must be a comma-separated list');
  const names = raw.split(',').map((c) => c.trim());
  const unknown = names.filter((c) => !isChannel(c));
  if (unknown.length > 0) throw invalid(`Unknown channel: ${unknown.map((c) => JSON.stringify(c)).join(', ')}`);
  return [...new Set(names as Channel[])];
}

/**
 * Nest drops a client whose events wait unwritten past this many characters,
 * without a word to the stream; the stream's own limits (SLOW_CLIENT_BYTES after
 * a grace second, IMMEDIATE_DROP_BYTES at once) are lower, so the drop is the
 * stream's own and counted.
 */
const NEST_PENDING_LIMIT = 2 * IMMEDIATE_DROP_BYTES;

@ApiTags('notifications')
@Controller('notifications')
export class StreamController {
  constructor(private readonly streams: StreamService) {}

  @Sse('stream', { maxPendingDataLength: NEST_PENDING_LIMIT })
  @StreamAuthenticated()
  @ApiProduces('text/event-stream')
  @ApiQuery({ name: 'channels', required: false, description: `Comma-separated subset of ${CHANNELS.join(',')}` })
  @ApiQuery({ name: 'lastEventId', required: false, description: 'Used when the Last-Event-ID header is absent' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this id (0 … 2^63−1)' })
  @ApiOkResponse({
    description:
      'Server-Sent Events. `ready` {cursor} first (with `retry:`), then named events ' +
      `${CHANNELS.map((c) => `\`${c}\``).join(', ')} ` +
      '(the notification JSON, id = notification id), `read` {ids}|{all,channel?} and `reset` {reason} ' +
      '(id = the stream cursor), and `: ping` comments every HEARTBEAT_MS.',
    schema: {
      type: 'string',
      example:
        'retry: 3000\nid: 41\nevent: ready\ndata: {"cursor":"41"}\n\nid: 42\nevent: order\ndata: {"id":"42",…}\n\n',
    },
  })
  @ApiTooManyRequestsResponse({ description: 'MAX_STREAMS_PER_USER reached' })
  stream(
    @StreamSession() auth: StreamAuth,
    @Req() req: Request & { id?: string },
    @Headers('last-event-id') header: string | undefined,
    @Query('lastEventId') query: unknown,
    @Query('channels') channels: unknown,
  ): Promise<Observable<SseMessage>> {
    if (query !== undefined && typeof query !== 'string') throw invalid('lastEventId must be a single value');
    const lastEventId = parseLastEventId(header ?? (query as string | undefined));
    return this.streams.open({
      user: auth.user,
      sessionId: auth.sessionId,
      channels: parseChannels(channels),
      lastEventId,
      res: req.res!,
      socket: req.socket,
      requestId: req.id,
    });
  }
}
