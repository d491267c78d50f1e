/**
 * BASELINE 3, the Nest floor: the least a NestJS 12 (Express platform) SSE
 * service can do per stream while keeping the design's public shape — one
 * `@Sse` route returning an RxJS Observable over a Subject per connection.
 * No auth, no database, no logging, no interceptors. Everything Nest does per
 * connection (its `SseStream` Transform, the AbortController, the router's
 * subscription and write queue, Express's request/response) is in; what the
 * app adds on top of it (session, user, starting position, hub) is out.
 *
 * A notification is one `MessageEvent` object shared by every stream it goes
 * to, its `data` serialised once (a string: Nest writes it as is); so the
 * per-stream work is a set lookup and a `next`, as issue 12 asks of the app.
 * One shared heartbeat (`{ comment: 'ping' }`) like the bare baseline's.
 * Replay sends the user's prebuilt events after the `ready` one.
 *
 * `POST /orders` is the floor of the request path: the app's own body DTO
 * through the app's ValidationPipe options, the total computed, a 201 with the
 * order's JSON and an `order.placed` event to the user's streams (the user
 * from an `x-bench-user` header). No session, no CSRF, no database.
 *
 *   PORT=… BENCH_PROBE_PORT=… node --expose-gc dist/bench/baseline-nest.js
 */
import { Body, Controller, Headers, type MessageEvent, Module, Post, Query, Sse, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { PlaceOrderDto } from '../src/orders/orders.dto.js';
import { type Observable, Subject, concat, defer, finalize, from } from 'rxjs';
import {
  HeapSampler,
  TARGETED_TITLE,
  memoryNow,
  notificationJson,
  now,
  paced,
  profilingRoutes,
  startControlServer,
} from './common.js';

const port = Number(process.env.PORT);
const probePort = Number(process.env.BENCH_PROBE_PORT);
const heartbeatMs = Number(process.env.HEARTBEAT_MS ?? 15000);

const all = new Set<Subject<MessageEvent>>();
const byUser = new Map<string, Set<Subject<MessageEvent>>>();
/** Per-user history for replay: [id, event] in id order. */
const history = new Map<string, Array<[number, MessageEvent]>>();
let lastId = 0;
let lastOrderId = 0;

function event(id: number, channel: string, json: unknown): MessageEvent {
  return { type: channel, id: String(id), data: JSON.stringify(json) };
}

@Controller()
class FloorController {
  @Sse('stream')
  stream(
    @Query('user') userParam: string | undefined,
    @Headers('last-event-id') lastEventId: string | undefined,
  ): Observable<MessageEvent> {
    const user = userParam ?? '0';
    return defer(() => {
      const subject = new Subject<MessageEvent>();
      const cursor = lastEventId ?? String(lastId);
      const first: MessageEvent[] = [{ type: 'ready', id: cursor, retry: 3000, data: `{"cursor":"${cursor}"}` }];
      if (lastEventId !== undefined) {
        const after = Number(lastEventId);
        for (const [id, e] of history.get(user) ?? []) if (id > after) first.push(e);
      }
      all.add(subject);
      let mine = byUser.get(user);
      if (!mine) byUser.set(user, (mine = new Set()));
      mine.add(subject);
      return concat(from(first), subject).pipe(
        finalize(() => {
          all.delete(subject);
          mine.delete(subject);
          if (mine.size === 0) byUser.delete(user);
        }),
      );
    });
  }

  @Post('orders')
  place(@Body() body: PlaceOrderDto, @Headers('x-bench-user') user: string | undefined) {
    const total = body.items.reduce((sum, i) => sum + i.quantity * i.unitPrice, 0);
    const orderId = String(++lastOrderId);
    const at = new Date().toISOString();
    const id = ++lastId;
    const e = event(
      id,
      'order',
      notificationJson(id, 'order', 'order.placed', `Order #${orderId} placed`, {
        orderId,
        status: 'placed',
        total,
        itemCount: body.items.length,
      }),
    );
    const streams = byUser.get(user ?? '');
    if (streams) for (const s of streams) s.next(e);
    const items = body.items.map((i) => ({ ...i, lineTotal: i.quantity * i.unitPrice }));
    return { id: orderId, status: 'placed', items, total, createdAt: at, updatedAt: at };
  }
}

@Module({ controllers: [FloorController] })
class FloorModule {}

const PING: MessageEvent = { comment: 'ping' } as MessageEvent;
setInterval(() => {
  for (const s of all) s.next(PING);
}, heartbeatMs).unref();

function sendTo(user: string, data: Record<string, unknown>): void {
  const id = ++lastId;
  const e = event(id, 'order', notificationJson(id, 'order', 'order.shipped', TARGETED_TITLE, data));
  const streams = byUser.get(user);
  if (streams) for (const s of streams) s.next(e);
}

const sampler = new HeapSampler();
await startControlServer(probePort, {
  ...profilingRoutes(),
  '/memory': () => memoryNow(),
  '/clock': () => ({ now: now() }),
  '/sample/start': () => sampler.start(),
  '/sample/stop': () => sampler.stop(),
  '/streams': () => ({ streams: all.size }),
  '/broadcast': (b: { title: string }) => {
    const id = ++lastId;
    const e = event(id, 'system', notificationJson(id, 'system', 'system.broadcast', b.title, {}));
    for (const s of all) s.next(e);
    return { id: String(id) };
  },
  '/targeted': (b: { rate: number; durationMs: number; users: string[]; step: number }) =>
    paced(b.rate, b.durationMs, (i) => sendTo(b.users[i % b.users.length], { t: now(), s: b.step })),
  '/bulk': (b: { user: string; count: number }) => {
    const list = history.get(b.user) ?? [];
    history.set(b.user, list);
    const first = lastId + 1;
    for (let i = 0; i < b.count; i++) {
      const id = ++lastId;
      list.push([
        id,
        event(id, 'order', notificationJson(id, 'order', 'order.shipped', TARGETED_TITLE, { t: now(), s: -1, i })),
      ]);
    }
    return { first: String(first), last: String(lastId) };
  },
});

const app = await NestFactory.create(FloorModule, { logger: ['error'] });
// The app's options (src/app.factory.ts), without its error wording.
app.useGlobalPipes(
  new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, transform: true }),
);
await app.init();
const server = app.getHttpServer() as Server;
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
await app.listen(port, '127.0.0.1');
console.log(`nest floor listening on ${port}`);
process.on('SIGTERM', () => process.exit(0));
