import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { Observable, Subscription } from 'rxjs';
import { DataSource } from 'typeorm';
import type { SessionUser } from '../auth/session-user.js';
import { DomainError } from '../common/domain-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { Channel, NotificationRow, ReadyPayload, ResetPayload, ResetReason } from './notification.types.js';
import { type ControlEvent, type Frame, type SseMessage, StreamHub, frameOf } from './stream-hub.js';
import { SqlParams, readAtSql, visibleNotificationsSql } from './visibility.js';
import { DeliveryHooks } from './delivery-hooks.js';

const REPLAY_PAGE = 500;
/** Live events held for one stream while its replay runs; past this it is dropped and replays again. */
const MAX_BUFFERED = 20_000;
/**
 * A stream over its byte budget gets this long to get back under it before it
 * is dropped. Events are written in bursts (a page of the feed reaches every
 * stream in one go), and each write leaves Nest's SSE queue only a tick after
 * the previous one, so right after a burst even a client that reads at once
 * can be far over budget; one that still is a second later is not reading.
 */
const SLOW_GRACE_MS = 1000;

export interface StreamRequest {
  user: SessionUser;
  sessionId: string;
  channels: readonly Channel[];
  /** Validated Last-Event-ID, or null when the client sent none. */
  lastEventId: bigint | null;
  req: Request;
}

/**
 * Builds one user's stream: `ready` (and `reset` when needed), then every
 * visible notification after the cursor from the database in ascending pages,
 * then live ones. Live events are subscribed to *before* the replay query runs
 * and held until it ends; those the replay already sent are skipped by id, so
 * the seam has no gap and no duplicate.
 */
@Injectable()
export class StreamService {
  private readonly logger = new Logger('StreamService');

  constructor(
    private readonly db: DataSource,
    private readonly hub: StreamHub,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly hooks: DeliveryHooks,
  ) {}

  async open(r: StreamRequest): Promise<Observable<SseMessage>> {
    const viewer = { id: r.user.id, role: r.user.role, createdAt: r.user.createdAt };
    if (this.hub.streamsOf(viewer.id) >= this.config.stream.maxStreamsPerUser) {
      throw new DomainError('TOO_MANY', `At most ${this.config.stream.maxStreamsPerUser} open streams per user`);
    }
    // Registered first, synchronously: the limit holds under concurrent opens, and
    // live events committed from now on are captured for the seam.
    const handle = this.hub.register(viewer, r.sessionId, r.channels);
    const held: Array<Frame | ControlEvent> = [];
    const early = handle.events.subscribe((e) => held.push(e));
    let position: { cursor: bigint; reset: ResetReason | null; muted: Channel[] };
    try {
      position = await this.position(viewer.id, r.lastEventId);
      this.hub.setMuted(viewer.id, position.muted);
    } catch (err) {
      early.unsubscribe();
      this.hub.unregister(handle);
      throw err;
    }
    // Nest never subscribes if the client left while we were reading the position.
    let subscribed = false;
    const response = r.req.res;
    const abandon = () => {
      if (subscribed) return;
      early.unsubscribe();
      this.hub.unregister(handle);
    };
    response?.once('close', abandon);
    if (response?.destroyed || r.req.socket.destroyed) abandon();

    return new Observable<SseMessage>((subscriber) => {
      subscribed = true;
      response?.off('close', abandon);
      // Ids that exist are far below 2^53, so the cursor compares as a number.
      let cursor = Number(position.cursor);
      let cursorText = position.cursor.toString();
      let replaying = r.lastEventId !== null && position.reset !== 'unknown-cursor';
      let closed = false;
      const socket = r.req.socket;
      const bytesAtStart = socket.bytesWritten;
      let bytesQueued = 0;
      const backlog = () => bytesQueued - (socket.bytesWritten - bytesAtStart);

      let overBudget: NodeJS.Timeout | null = null;
      const checkBudget = () => {
        if (overBudget || backlog() <= this.config.stream.slowClientBytes) return;
        overBudget = setTimeout(() => {
          overBudget = null;
          if (backlog() > this.config.stream.slowClientBytes) drop();
        }, SLOW_GRACE_MS);
      };

      const drop = () => {
        if (closed) return;
        this.metrics.droppedSlowClients.inc();
        closed = true;
        r.req.res?.destroy();
        subscriber.complete();
      };

      const writeFrame = (frame: Frame): void => {
        if (frame.seq <= cursor) return;
        cursor = frame.seq;
        cursorText = frame.message.id!;
        bytesQueued += frame.size;
        subscriber.next(frame.message);
        checkBudget();
      };

      const writeControl = (event: ControlEvent): void => {
        if (event.type === 'end') {
          closed = true;
          subscriber.complete();
          return;
        }
        subscriber.next({ type: 'read', id: cursorText, data: JSON.stringify(event.payload) });
      };

      const onLive = (e: Frame | ControlEvent) => {
        if (closed) return;
        if (replaying) {
          held.push(e);
          if (held.length > MAX_BUFFERED) drop();
          return;
        }
        if ('seq' in e) writeFrame(e);
        else writeControl(e);
      };

      const live = new Subscription();
      live.add(handle.events.subscribe(onLive));
      early.unsubscribe();
      live.add(this.hub.heartbeat$.subscribe((ping) => subscriber.next(ping)));

      subscriber.next({
        type: 'ready',
        id: cursorText,
        retry: this.config.stream.retryMs,
        data: JSON.stringify({ cursor: cursorText } satisfies ReadyPayload),
      });
      if (position.reset)
        subscriber.next({
          type: 'reset',
          id: cursorText,
          data: JSON.stringify({ reason: position.reset } satisfies ResetPayload),
        });

      const finishReplay = () => {
        replaying = false;
        for (const e of held.splice(0)) {
          if (closed) break;
          onLive(e);
        }
      };

      if (replaying) {
        this.replay(viewer, r.channels, position.muted, position.cursor, {
          isClosed: () => closed,
          write: (frame) => {
            writeFrame(frame);
            this.metrics.replayed.inc();
            // Replayed to an open tab is seen too: no push or email for it (src/delivery/).
            this.hooks.streamed(frame.message.id!, viewer.id);
          },
          backlog,
          // Paced below the budget, so a reading client is never dropped by its own replay.
          pauseAbove: Math.min(REPLAY_BACKLOG_BYTES, Math.floor(this.config.stream.slowClientBytes / 2)),
          socket,
          onStall: drop,
        }).then(finishReplay, (err: unknown) => {
          // The replay could not be read (the database went away). End the stream cleanly: an
          // error event would carry an id of Nest's own numbering, which the browser would take
          // as its position and resume from, skipping notifications. After a clean end it
          // reconnects with the last id it really received.
          if (closed) return;
          this.logger.warn(`Replay failed, ending the stream: ${(err as Error).message}`);
          closed = true;
          subscriber.complete();
        });
      } else {
        finishReplay();
      }

      return () => {
        closed = true;
        if (overBudget) clearTimeout(overBudget);
        live.unsubscribe();
        this.hub.unregister(handle);
      };
    });
  }

  /**
   * Where the stream starts: the client's Last-Event-ID, or the newest id when
   * it sent none or one that does not exist yet (then with a reset).
   */
  private async position(
    userId: string,
    lastEventId: bigint | null,
  ): Promise<{ cursor: bigint; reset: ResetReason | null; muted: Channel[] }> {
    const [row]: Array<{ newest: string; deleted_up_to: string; muted: Channel[] | null }> = await this.db.query(
      `SELECT (SELECT COALESCE(max(id), 0) FROM notifications)::text AS newest,
              (SELECT deleted_up_to FROM notification_retention)::text AS deleted_up_to,
              (SELECT muted_channels FROM notification_preferences WHERE user_id = $1) AS muted`,
      [userId],
    );
    const newest = BigInt(row.newest);
    const muted = row.muted ?? [];
    if (lastEventId === null) return { cursor: newest, reset: null, muted };
    if (lastEventId > newest) return { cursor: newest, reset: 'unknown-cursor', muted };
    const truncated = lastEventId < BigInt(row.deleted_up_to ?? '0');
    return { cursor: lastEventId, reset: truncated ? 'history-truncated' : null, muted };
  }

  /** Keyset pages, ascending; waits for the client to take each page before reading the next. */
  private async replay(
    viewer: { id: string; role: SessionUser['role']; createdAt: Date },
    channels: readonly Channel[],
    muted: readonly Channel[],
    from: bigint,
    out: {
      isClosed: () => boolean;
      write: (f: Frame) => void;
      backlog: () => number;
      pauseAbove: number;
      socket: Request['socket'];
      /** The client took nothing for REPLAY_STALL_MS: it is not reading. */
      onStall: () => void;
    },
  ): Promise<void> {
    let after = from;
    for (;;) {
      const params = new SqlParams();
      const me = params.add(viewer.id);
      const where = [`n.id > ${params.add(after.toString())}`, `n.channel = ANY (${params.add(channels)}::text[])`];
      if (muted.length > 0) where.push(`(n.channel <> ALL (${params.add(muted)}::text[]) OR n.severity = 'critical')`);
      const sql = visibleNotificationsSql(params, {
        viewer,
        where,
        order: 'ASC',
        limit: String(REPLAY_PAGE),
        select: [readAtSql(me)],
      });
      const rows: NotificationRow[] = await this.db.query(sql, params.values);
      for (const row of rows) {
        if (out.isClosed()) return;
        out.write(frameOf(row));
        if (out.backlog() > out.pauseAbove) await waitForDrain(out);
      }
      if (rows.length < REPLAY_PAGE || out.isClosed()) return;
      after = BigInt(rows[rows.length - 1].id);
    }
  }
}

const REPLAY_BACKLOG_BYTES = 256 * 1024;

/** A replay waiting this long for a client that takes nothing gives up on it (it is dropped). */
const REPLAY_STALL_MS = 30_000;

/** Resolves once the client has taken most of what was written (or is gone, or stalled). */
async function waitForDrain(out: {
  isClosed: () => boolean;
  backlog: () => number;
  pauseAbove: number;
  socket: Request['socket'];
  onStall: () => void;
}): Promise<void> {
  let lowest = out.backlog();
  let progressAt = Date.now();
  while (out.backlog() > out.pauseAbove && !out.isClosed() && !out.socket.destroyed) {
    if (out.backlog() < lowest) {
      lowest = out.backlog();
      progressAt = Date.now();
    } else if (Date.now() - progressAt > REPLAY_STALL_MS) {
      out.onStall();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 20);
      function done() {
        clearTimeout(timer);
        out.socket.off('drain', done);
        resolve();
      }
      out.socket.once('drain', done);
    });
  }
}
