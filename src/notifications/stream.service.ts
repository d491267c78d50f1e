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
import type { Channel, NotificationRow, ResetReason } from './notification.types.js';
import { StreamConnection } from './stream-connection.js';
import { type SseMessage, StreamHub, frameOf } from './stream-hub.js';
import { SqlParams, readAtSql, visibleNotificationsSql } from './visibility.js';
import { EscalationPort } from './escalation-port.js';

const REPLAY_PAGE = 500;

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
 * Opens one user's stream: registers it with the hub, reads where it starts,
 * then hands it to a StreamConnection, which writes `ready`, the replay (every
 * visible notification after the cursor, in ascending pages read here) and
 * the live events held meanwhile, with no gap and no duplicate at the seam.
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
    const viewer = { id: r.user.id, role: r.user.role, createdAt: r.user.createdAt, locale: r.user.locale };
    if (this.beforeRegister) await this.beforeRegister();
    if (this.hub.streamsOf(viewer.id) >= this.config.stream.maxStreamsPerUser) {
      throw new DomainError('TOO_MANY', `At most ${this.config.stream.maxStreamsPerUser} open streams per user`);
    }
    // Registered first, synchronously: the limit holds under concurrent opens, live events
    // committed from now on are held for the seam, and a revocation from now on ends it.
    const handle = this.hub.register(viewer, r.sessionId, r.channels);
    const connection = new StreamConnection(r.res, r.socket, this.config.stream.slowClientBytes, () =>
      this.metrics.droppedSlowClients.inc(),
    );
    handle.receive = connection.receive;
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
    const abandon = () => {
      if (!subscribed) this.hub.unregister(handle);
    };
    r.res.once('close', abandon);
    if (r.res.destroyed || r.socket.destroyed) abandon();

    return new Observable<SseMessage>((subscriber) => {
      subscribed = true;
      r.res.off('close', abandon);
      this.logger.log(
        `Stream opened: user ${viewer.id}, channels ${r.channels.join(',')}, from ${r.lastEventId ?? 'now'}` +
          (r.requestId ? `, request ${r.requestId}` : ''),
      );
      connection.start(subscriber, { ...position, retryMs: this.config.stream.retryMs });
      if (position.replay) {
        this.replay(viewer, r.channels, position.muted, position.cursor, connection).then(
          () => connection.endReplay(),
          (err: unknown) => {
            // The database went away. A clean end, not an error event: that would carry an id of
            // Nest's own numbering, which the browser would take as its position and resume from.
            if (connection.closed) return;
            this.logger.warn(`Replay failed, ending the stream: ${(err as Error).message}`);
            connection.end();
          },
        );
      }
      return () => {
        connection.close();
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
    viewer: { id: string; role: SessionUser['role']; createdAt: Date; locale?: string },
    channels: readonly Channel[],
    muted: readonly Channel[],
    from: bigint,
    connection: StreamConnection,
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
        if (connection.closed) return;
        const frame = frameOf(row, viewer.locale);
        connection.writeReplayed(frame);
        this.metrics.replayed.inc();
        // Replayed to an open tab is seen too: no push or email for it.
        if (frame.escalates) this.escalation.streamed(frame.message.id!, viewer.id);
        if (connection.replayAhead) await connection.paceReplay();
      }
      if (rows.length < REPLAY_PAGE || connection.closed) return;
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

const ignoreEvent = () => undefined;
