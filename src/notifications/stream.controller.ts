import { Controller, Req, Sse } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiProduces, ApiQuery, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { CHANNELS } from './notification.types.js';
import type { SseMessage } from './stream-hub.js';
import { IMMEDIATE_DROP_BYTES } from './slow-client-budget.js';
import { StreamAuthenticated, StreamOpened } from './stream-auth.js';
import { type StreamOpening, StreamService } from './stream.service.js';

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
    @StreamOpened() opening: StreamOpening,
    @Req() req: Request & { id?: string },
  ): Promise<Observable<SseMessage>> {
    return this.streams.open({ opening, res: req.res!, socket: req.socket, requestId: req.id });
  }
}
