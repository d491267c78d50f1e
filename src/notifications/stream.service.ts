import { Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { Response } from 'express';
import type { Socket } from 'node:net';
import { Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import type { SessionUser } from '../auth/session-user.js';
import { STREAM_OPEN_BATCH_MS } from '../auth/stream-auth.js';
import { Batcher } from '../common/batcher.js';
import { DomainError } from '../common/domain-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { Channel, NotificationRow, ReadyPayload, ResetPayload, ResetReason } from './notification.types.js';
import { type ControlEvent, type Frame, type SseMessage, StreamHub, frameOf } from './stream-hub.js';
import { SqlParams, readAtSql, visibleNotificationsSql } from './visibility.js';
import { EscalationPort } from './escalation-port.js';

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
/**
 * A backlog this large is dropped at once, grace or not. Nest drops a stream whose events wait
 * unwritten past its own limit (twice this, StreamController), uncounted; a burst faster than the
 * grace second (a paused client on a fast publisher: 200 MB/s of 10 KB notifications) reached it
 * first. SLOW_CLIENT_BYTES is at most this much (config).
 */
export const IMMEDIATE_DROP_BYTES = 16 * 1024 * 1024;

export interface StreamRequest {
  user: SessionUser;
  sessionId: string;
  channels: readonly Channel[];
  /** Validated Last-Event-ID, or null when the client sent none. */
  lastEventId: bigint | null;
  /** The response Nest writes the stream to, and its socket (for the slow-client budget). */
  res: Response;
  socket: Socket;
  /** For the "stream opened" log line. */
  requestId?: string;
}

/** Where a stream starts, read with the check that its session still holds. */
interface StartingPoint {
  newest: bigint;
  deletedUpTo: bigint;
  muted: Channel[];
  /** The session still exists, unexpired, and its user is enabled with the same role. */
  valid: boolean;
  /**
   * The viewer may see a notification after the Last-Event-ID on the stream's
   * channels (mutes aside): false means the replay would read nothing.
   */
  anythingAfter: boolean;
}

/** What a starting point depends on: one open's session, viewer, Last-Event-ID and channels. */
interface StartKey {
  sessionId: string;
  viewer: { id: string; role: SessionUser['role']; createdAt: Date };
  lastEventId: bigint | null;
  channels: readonly Channel[];
}
const START_KEY_FIELDS = 6;
const keyOf = (k: StartKey): string =>
  [
    k.sessionId,
    k.viewer.id,
    k.viewer.role,
    // The replay compares with this same millisecond value: the check must not see less than it.
    k.viewer.createdAt.toISOString(),
    k.lastEventId?.toString() ?? '',
    k.channels.join(','),
  ].join('\u0000');

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
  /** Starting points of concurrent opens, one query per batch (a reconnect storm). */
  private readonly starts: Batcher<string, StartingPoint>;
  /**
   * Test hook: awaited between the session's load (the guard) and the stream's
   * registration, to force a revocation into that window.
   */
  beforeRegister: (() => Promise<void>) | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly hub: StreamHub,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly escalation: EscalationPort,
  ) {
    this.starts = new Batcher((keys) => this.startingPoints(keys), { minIntervalMs: STREAM_OPEN_BATCH_MS });
  }

  /** Round trips spent on starting points so far (one per batch). */
  get startQueries(): number {
    return this.starts.batches;
  }

  async open(r: StreamRequest): Promise<Observable<SseMessage>> {
    const viewer = { id: r.user.id, role: r.user.role, createdAt: r.user.createdAt };
    if (this.beforeRegister) await this.beforeRegister();
    if (this.hub.streamsOf(viewer.id) >= this.config.stream.maxStreamsPerUser) {
      throw new DomainError('TOO_MANY', `At most ${this.config.stream.maxStreamsPerUser} open streams per user`);
    }
    // Registered first, synchronously: the limit holds under concurrent opens, live events
    // committed from now on are captured for the seam, and a revocation from now on ends it.
    const handle = this.hub.register(viewer, r.sessionId, r.channels);
    const held: Array<Frame | ControlEvent> = [];
    handle.receive = (e) => {
      if ('seq' in e || e.type !== 'ping') held.push(e);
    };
    let position: ReturnType<typeof positionOf>;
    try {
      // Read after registering, with the session re-checked in the same query: a logout or
      // role change that happened after the guard loaded the session but before the
      // registration (so the hub could not end this stream) is seen here. Revocations commit
      // their change before they are announced, so no order of the two can slip through.
      const start = await this.starts.load(
        keyOf({ sessionId: r.sessionId, viewer, lastEventId: r.lastEventId, channels: r.channels }),
      );
      if (!start.valid) throw new UnauthorizedException('Authentication required');
      position = positionOf(start, r.lastEventId);
      this.hub.setMuted(viewer.id, position.muted);
    } catch (err) {
      this.hub.unregister(handle);
      throw err;
    }
    // Nest never subscribes if the client left while we were reading the position.
    let subscribed = false;
    const response = r.res;
    const socket = r.socket;
    const abandon = () => {
      if (subscribed) return;
      this.hub.unregister(handle);
    };
    response.once('close', abandon);
    if (response.destroyed || socket.destroyed) abandon();
    const requestId = r.requestId;
    const lastEventId = r.lastEventId;
    const channels = r.channels;

    return new Observable<SseMessage>((subscriber) => {
      subscribed = true;
      response.off('close', abandon);
      // Nest writes the headers as soon as the first event comes, then the event: held back
      // until this turn's writes are done, they leave together.
      gatherFirstWrites(socket);
      this.logger.log(
        `Stream opened: user ${viewer.id}, channels ${channels.join(',')}, from ${lastEventId ?? 'now'}` +
          (requestId ? `, request ${requestId}` : ''),
      );
      // Ids that exist are far below 2^53, so the cursor compares as a number.
      let cursor = Number(position.cursor);
      let cursorText = position.cursor.toString();
      let replaying = position.replay;
      let closed = false;
      const bytesAtStart = socket.bytesWritten;
      let bytesQueued = 0;
      const backlog = () => bytesQueued - (socket.bytesWritten - bytesAtStart);

      let overBudget: NodeJS.Timeout | null = null;
      const checkBudget = () => {
        const behind = backlog();
        if (behind > IMMEDIATE_DROP_BYTES) return drop();
        if (overBudget || behind <= this.config.stream.slowClientBytes) return;
        overBudget = setTimeout(() => {
          overBudget = null;
          if (backlog() > this.config.stream.slowClientBytes) drop();
        }, SLOW_GRACE_MS);
      };

      const drop = () => {
        if (closed) return;
        this.metrics.droppedSlowClients.inc();
        closed = true;
        response.destroy();
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
        if (event.type === 'ping') {
          subscriber.next(PING_MESSAGE);
          return;
        }
        if (event.type === 'end') {
          closed = true;
          subscriber.complete();
          return;
        }
        subscriber.next({ type: 'read', id: cursorText, data: JSON.stringify(event.payload) });
      };

      const onLive = (e: Frame | ControlEvent) => {
        if (closed) return;
        if (replaying && ('seq' in e || e.type !== 'ping')) {
          held.push(e);
          if (held.length > MAX_BUFFERED) drop();
          return;
        }
        if ('seq' in e) writeFrame(e);
        else writeControl(e);
      };

      handle.receive = onLive;

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
        this.replay(viewer, channels, position.muted, position.cursor, {
          isClosed: () => closed,
          write: (frame) => {
            writeFrame(frame);
            this.metrics.replayed.inc();
            // Replayed to an open tab is seen too: no push or email for it (src/delivery/).
            if (frame.escalates) this.escalation.streamed(frame.message.id!, viewer.id);
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
        handle.receive = ignoreEvent;
        this.hub.unregister(handle);
      };
    });
  }

  /**
   * For a batch of opens: the newest id, the retention horizon, each user's
   * muted channels, whether each session still holds, and whether each open
   * has anything to replay, in one query. A storm after a deploy reconnects
   * every client with its Last-Event-ID, and most of them missed nothing:
   * answering that here spares each of them a replay query of its own.
   */
  private async startingPoints(keys: string[]): Promise<StartingPoint[]> {
    const parts = keys.map((k) => k.split('\u0000'));
    const params = new SqlParams();
    const column = (i: number) => `${params.add(parts.map((p) => p[i] || null))}::text[]`;
    const columns = Array.from({ length: START_KEY_FIELDS }, (_, i) => column(i)).join(', ');
    // The replay's own question (visibility.ts), for every open at once; mutes are left out,
    // so it may answer yes where the replay then finds nothing, never the other way round.
    const after = visibleNotificationsSql(params, {
      viewer: { idSql: 'h.uid::bigint', roleSql: 'h.role', createdAtSql: 'h.since::timestamptz' },
      where: ['n.id > h.after::bigint', "n.channel = ANY (string_to_array(h.channels, ','))"],
      order: 'ASC',
      limit: '1',
    });
    const rows: Array<{
      newest: string;
      deleted_up_to: string | null;
      muted: Channel[] | null;
      valid: boolean;
      anything_after: boolean;
    }> = await this.db.query(
      `SELECT (SELECT COALESCE(max(id), 0) FROM notifications)::text AS newest,
              (SELECT deleted_up_to FROM notification_retention)::text AS deleted_up_to,
              p.muted_channels AS muted,
              EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = h.uid::bigint
                       WHERE s.sid = h.sid AND s.expire > now() AND s.sess #>> '{passport,user}' = h.uid
                         AND u.disabled_at IS NULL AND u.role = h.role) AS valid,
              h.after IS NOT NULL AND EXISTS (${after}) AS anything_after
         FROM unnest(${columns}) WITH ORDINALITY AS h(sid, uid, role, since, after, channels, ord)
         LEFT JOIN notification_preferences p ON p.user_id = h.uid::bigint
        ORDER BY h.ord`,
      params.values,
    );
    return rows.map((row) => ({
      newest: BigInt(row.newest),
      deletedUpTo: BigInt(row.deleted_up_to ?? '0'),
      muted: row.muted ?? [],
      valid: row.valid,
      anythingAfter: row.anything_after,
    }));
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
      socket: Socket;
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

/**
 * Where the stream starts: the client's Last-Event-ID, or the newest id when
 * it sent none or one that does not exist yet (then with a reset); and whether
 * it replays from there.
 *
 * No replay when nothing visible lies after the Last-Event-ID is exact: the
 * starting point is read after the stream registered with the hub, so what it
 * did not see commits later and reaches the stream live, as without one.
 */
function positionOf(
  start: StartingPoint,
  lastEventId: bigint | null,
): { cursor: bigint; reset: ResetReason | null; muted: Channel[]; replay: boolean } {
  const { newest, muted } = start;
  if (lastEventId === null) return { cursor: newest, reset: null, muted, replay: false };
  if (lastEventId > newest) return { cursor: newest, reset: 'unknown-cursor', muted, replay: false };
  return {
    cursor: lastEventId,
    reset: lastEventId < start.deletedUpTo ? 'history-truncated' : null,
    muted,
    replay: start.anythingAfter,
  };
}

/**
 * Sockets of streams that just opened, corked until the end of this turn of
 * the event loop. Nest sends a stream's headers on their own (flushHeaders),
 * then `ready` and whatever follows it in the same turn (`reset`, live events
 * held while the position was read) in another write; a socket write is a
 * system call, ~0.1 ms on the shared machines, so a reconnect storm paid one
 * more per open than it needs. Corked, the headers and the first events go
 * out in one. Nest's writes reach the socket within the turn (the first one
 * synchronously, the rest through promises and `nextTick`), so one
 * `setImmediate` for all the sockets of the turn uncorks them after.
 */
const gathering: Socket[] = [];

function gatherFirstWrites(socket: Socket): void {
  socket.cork();
  if (gathering.push(socket) === 1) setImmediate(releaseFirstWrites);
}

function releaseFirstWrites(): void {
  for (const socket of gathering.splice(0)) socket.uncork();
}

const PING_MESSAGE: SseMessage = { comment: 'ping' };
const ignoreEvent = () => undefined;

const REPLAY_BACKLOG_BYTES = 256 * 1024;

/** A replay waiting this long for a client that takes nothing gives up on it (it is dropped). */
const REPLAY_STALL_MS = 30_000;

/** Resolves once the client has taken most of what was written (or is gone, or stalled). */
async function waitForDrain(out: {
  isClosed: () => boolean;
  backlog: () => number;
  pauseAbove: number;
  socket: Socket;
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
