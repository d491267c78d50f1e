import { Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { Response } from 'express';
import type { Socket } from 'node:net';
import { Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import { SessionRevocations } from '../auth/session-revocations.js';
import type { SessionUser } from '../auth/session-user.js';
import { UserCache } from '../auth/user-cache.js';
import { Batcher } from '../common/batcher.js';
import { DomainError } from '../common/domain-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { NotificationFeed } from './notification-feed.js';
import type { Channel, NotificationRow, ResetReason } from './notification.types.js';
import { StreamConnection } from './stream-connection.js';
import { type SseMessage, StreamHub, frameOf } from './stream-hub.js';
import { SqlParams, type ViewerSql, readAtSql, visibleNotificationsSql } from './visibility.js';
import { EscalationPort } from './escalation-port.js';

const REPLAY_PAGE = 500;

/**
 * How often the stream-open lookups (lookUp's, and the starting points read
 * again after a registration) may send a batch. Only a storm waits for it: an
 * open after a quiet spell is looked up on the next turn. During one it keeps
 * each of these lookups to 50 round trips a second (unless batches fill),
 * whatever the rate of opens, for at most 20 ms more before `ready`. In a
 * storm of 2,000 opens: 0.18 queries per open at 10 ms, 0.09 at 25 ms.
 */
export const STREAM_OPEN_BATCH_MS = 20;

/** A stream open as its guard read it: session, user and starting point, in one snapshot. */
export interface StreamOpening {
  readonly sessionId: string;
  readonly user: SessionUser;
  readonly channels: readonly Channel[];
  /** Validated Last-Event-ID, or null when the client sent none. */
  readonly lastEventId: bigint | null;
  readonly start: StartingPoint;
  /** SessionRevocations' generation when the snapshot was read. */
  readonly generation: number;
  /** StreamHub's prefsGeneration when the snapshot (the mutes, the user's locale) was read. */
  readonly prefsGeneration: number;
}

export interface StreamRequest {
  opening: StreamOpening;
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
  locale: string;
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
 * Opens one user's stream: reads its session, user and starting point in one
 * query (lookUp, for the guard), registers it with the hub, then hands it to a
 * StreamConnection, which writes `ready`, the replay (every visible
 * notification after the cursor, in ascending pages read here) and the live
 * events held meanwhile, with no gap and no duplicate at the seam.
 */
@Injectable()
export class StreamService {
  private readonly logger = new Logger('StreamService');
  /** Session, user and starting point of concurrent opens, one query per batch (a reconnect storm). */
  private readonly openings: Batcher<string, StreamOpening | null>;
  /** Starting points read again after a registration, when the opening's may be stale. */
  private readonly starts: Batcher<string, StartingPoint>;
  /**
   * Test hook: awaited between the opening's read (the guard) and the stream's
   * registration, to force a revocation or a notification into that window.
   */
  beforeRegister: (() => Promise<void>) | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly hub: StreamHub,
    private readonly feed: NotificationFeed,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly escalation: EscalationPort,
    private readonly users: UserCache,
    private readonly revocations: SessionRevocations,
  ) {
    this.openings = new Batcher((keys) => this.readOpenings(keys), { minIntervalMs: STREAM_OPEN_BATCH_MS });
    this.starts = new Batcher((keys) => this.startingPoints(keys), { minIntervalMs: STREAM_OPEN_BATCH_MS });
  }

  /** Round trips spent on openings so far (one per batch). */
  get openingQueries(): number {
    return this.openings.batches;
  }

  /** Round trips spent on starting points read again after a registration (one per batch). */
  get startQueries(): number {
    return this.starts.batches;
  }

  /** The live session with this id, its enabled user, and where a stream of theirs starts; null without one. */
  lookUp(sessionId: string, lastEventId: bigint | null, channels: readonly Channel[]): Promise<StreamOpening | null> {
    return this.openings.load([sessionId, lastEventId?.toString() ?? '', channels.join(',')].join('\u0000'));
  }

  async open(r: StreamRequest): Promise<Observable<SseMessage>> {
    const { opening } = r;
    const viewer = {
      id: opening.user.id,
      role: opening.user.role,
      createdAt: opening.user.createdAt,
      locale: opening.user.locale,
    };
    const channels = opening.channels;
    const lastEventId = opening.lastEventId;
    if (this.beforeRegister) await this.beforeRegister();
    if (this.hub.streamsOf(viewer.id) >= this.config.stream.maxStreamsPerUser) {
      throw new DomainError('TOO_MANY', `At most ${this.config.stream.maxStreamsPerUser} open streams per user`);
    }
    // Registered first, synchronously: the limit holds under concurrent opens, live events
    // committed from now on are held for the seam, and a revocation or a preference change
    // from now on reaches it.
    const handle = this.hub.register(viewer, opening.sessionId, channels, opening.start.muted, opening.prefsGeneration);
    const connection = new StreamConnection(r.res, r.socket, this.config.stream.slowClientBytes, () =>
      this.metrics.droppedSlowClients.inc(),
    );
    handle.receive = connection.receive;
    let start = opening.start;
    let position: ReturnType<typeof positionOf>;
    try {
      // Read before the registration; from it on, the hub ends this stream on a revocation,
      // applies preference changes and passes it every notification. The read stands unless a
      // revocation or a preference change reached this instance since (it may have committed
      // after the read, and the registration may have applied the read's older mutes or locale)
      // or the feed has dispatched past the read's newest id (it goes in id order); then it is
      // read again, now registered.
      const current =
        opening.generation === this.revocations.generation &&
        opening.prefsGeneration === this.hub.prefsGeneration &&
        this.feed.position <= Number(opening.start.newest);
      if (!current) {
        const readAt = this.hub.prefsGeneration;
        start = await this.starts.load(keyOf({ sessionId: opening.sessionId, viewer, lastEventId, channels }));
        if (start.valid) this.hub.refresh({ ...viewer, locale: start.locale }, start.muted, readAt);
      }
      if (!start.valid) throw new UnauthorizedException('Authentication required');
      position = positionOf(start, lastEventId);
      // Until refresh, the hub filtered this user's rows by the mutes of the first read: rows
      // dispatched past the second read's snapshot may have been dropped. The replay reads them
      // with the new mutes (the seam drops what was also written live).
      if (
        !current &&
        opening.prefsGeneration !== this.hub.prefsGeneration &&
        this.feed.position > Number(start.newest)
      ) {
        position.replay = true;
      }
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
        `Stream opened: user ${viewer.id}, channels ${channels.join(',')}, from ${lastEventId ?? 'now'}` +
          (r.requestId ? `, request ${r.requestId}` : ''),
      );
      connection.start(subscriber, { ...position, retryMs: this.config.stream.retryMs });
      if (position.replay) {
        this.replay({ ...viewer, locale: start.locale }, channels, start.muted, position.cursor, connection).then(
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
   * For a batch of opens: each session's enabled user, and where its stream
   * starts (startingPoints' answers, below), in one query: an open costs one
   * round trip before its registration, not two in turn. Users read here also
   * serve this instance's REST requests (UserCache), unless a revocation
   * arrived while the query ran.
   */
  private async readOpenings(keys: string[]): Promise<Array<StreamOpening | null>> {
    const generation = this.revocations.generation;
    const prefsGeneration = this.hub.prefsGeneration;
    // The replay compares created_at with the user's createdAt as JavaScript holds it, in
    // milliseconds: the check must not see less than the replay.
    const { parts, params, column, after } = batchSql(keys, {
      idSql: 'u.id',
      roleSql: 'u.role',
      createdAtSql: "date_trunc('milliseconds', u.created_at)",
    });
    // The session stores the user id as passport.user (see SessionSerializer); the CASE keeps
    // a malformed value from failing the whole batch and lets the join use the users key.
    const rows: Array<{
      id: string | null;
      email: string;
      role: SessionUser['role'];
      display_name: string | null;
      created_at: Date;
      locale: string;
      newest: string;
      deleted_up_to: string | null;
      muted: Channel[] | null;
      anything_after: boolean;
    }> = await this.db.query(
      `SELECT u.id::text AS id, u.email, u.role, u.display_name, u.created_at, u.locale,
              (SELECT COALESCE(max(id), 0) FROM notifications)::text AS newest,
              (SELECT deleted_up_to FROM notification_retention)::text AS deleted_up_to,
              p.muted_channels AS muted,
              h.after IS NOT NULL AND u.id IS NOT NULL AND EXISTS (${after}) AS anything_after
         FROM unnest(${column(0)}, ${column(1)}, ${column(2)}) WITH ORDINALITY AS h(sid, after, channels, ord)
         LEFT JOIN sessions s ON s.sid = h.sid AND s.expire > now()
         LEFT JOIN users u ON u.id = CASE WHEN s.sess #>> '{passport,user}' ~ '^[0-9]{1,18}$'
                                          THEN (s.sess #>> '{passport,user}')::bigint END
                          AND u.disabled_at IS NULL
         LEFT JOIN notification_preferences p ON p.user_id = u.id
        ORDER BY h.ord`,
      params.values,
    );
    return rows.map((r, i) => {
      if (r.id === null) return null;
      const [sessionId, after, channels] = parts[i];
      const user: SessionUser = {
        id: r.id,
        email: r.email,
        role: r.role,
        displayName: r.display_name,
        createdAt: r.created_at,
        locale: r.locale,
      };
      this.users.store(user.id, user, generation);
      return {
        sessionId,
        user,
        channels: channels.split(',') as Channel[],
        lastEventId: after ? BigInt(after) : null,
        start: {
          newest: BigInt(r.newest),
          deletedUpTo: BigInt(r.deleted_up_to ?? '0'),
          muted: r.muted ?? [],
          locale: r.locale,
          valid: true,
          anythingAfter: r.anything_after,
        },
        generation,
        prefsGeneration,
      };
    });
  }

  /**
   * For a batch of opens read again after their registration: the newest id,
   * the retention horizon, each user's muted channels and locale, whether each session
   * still holds, and whether each open has anything to replay, in one query. A storm after a deploy reconnects
   * every client with its Last-Event-ID, and most of them missed nothing:
   * answering that here spares each of them a replay query of its own.
   */
  private async startingPoints(keys: string[]): Promise<StartingPoint[]> {
    const { params, column, after } = batchSql(keys, {
      idSql: 'h.uid::bigint',
      roleSql: 'h.role',
      createdAtSql: 'h.since::timestamptz',
    });
    const columns = Array.from({ length: START_KEY_FIELDS }, (_, i) => column(i)).join(', ');
    const rows: Array<{
      newest: string;
      deleted_up_to: string | null;
      muted: Channel[] | null;
      locale: string | null;
      valid: boolean;
      anything_after: boolean;
    }> = await this.db.query(
      `SELECT (SELECT COALESCE(max(id), 0) FROM notifications)::text AS newest,
              (SELECT deleted_up_to FROM notification_retention)::text AS deleted_up_to,
              p.muted_channels AS muted,
              (SELECT u.locale FROM users u WHERE u.id = h.uid::bigint) AS locale,
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
      // No user: not valid, and the open is refused.
      locale: row.locale ?? 'en',
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
): { cursor: bigint; reset: ResetReason | null; replay: boolean } {
  const { newest } = start;
  if (lastEventId === null) return { cursor: newest, reset: null, replay: false };
  if (lastEventId > newest) return { cursor: newest, reset: 'unknown-cursor', replay: false };
  return {
    cursor: lastEventId,
    reset: lastEventId < start.deletedUpTo ? 'history-truncated' : null,
    replay: start.anythingAfter,
  };
}

const ignoreEvent = () => undefined;

/**
 * A batch of opens as SQL: each key's fields (`\u0000`-separated) as one array parameter per
 * field (`column(i)`), and `after`, the replay's own question (visibility.ts) for every open at
 * once: the first visible notification past `h.after` in `h.channels`. Mutes are left out, so it
 * may answer yes where the replay then finds nothing, never the other way round.
 */
function batchSql(
  keys: string[],
  viewer: ViewerSql,
): { parts: string[][]; params: SqlParams; column: (i: number) => string; after: string } {
  const parts = keys.map((k) => k.split('\u0000'));
  const params = new SqlParams();
  const column = (i: number) => `${params.add(parts.map((p) => p[i] || null))}::text[]`;
  const after = visibleNotificationsSql(params, {
    viewer,
    where: ['n.id > h.after::bigint', "n.channel = ANY (string_to_array(h.channels, ','))"],
    order: 'ASC',
    limit: '1',
  });
  return { parts, params, column, after };
}
