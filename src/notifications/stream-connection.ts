import type { Response } from 'express';
import type { Socket } from 'node:net';
import type { Subscriber } from 'rxjs';
import type { ReadyPayload, ResetPayload, ResetReason } from './notification.types.js';
import { SlowClientBudget } from './slow-client-budget.js';
import type { ControlEvent, Frame, SseMessage } from './stream-hub.js';

/** Live events held for one stream while its replay runs; past this it is dropped and replays again. */
const MAX_HELD = 20_000;
/** The replay waits for the client above this backlog (and below the budget, so it never drops itself). */
const REPLAY_BACKLOG_BYTES = 256 * 1024;
/** A replay waiting this long for a client that takes nothing gives up on it (it is dropped). */
const REPLAY_STALL_MS = 30_000;

const PING_MESSAGE: SseMessage = { comment: 'ping' };

export interface ConnectionStart {
  /** The stream's position: frames at or below it are not written. */
  cursor: bigint;
  reset: ResetReason | null;
  /** A replay from the database follows; live events wait for `endReplay`. */
  replay: boolean;
  /** The `retry:` of the `ready` event. */
  retryMs: number;
}

/**
 * One open stream, as written to its client: `ready` (and `reset`), the
 * replayed frames, then the live ones, each once and past the cursor. Live
 * events that come before the subscription or during the replay wait for it.
 */
export class StreamConnection {
  private held: Array<Frame | ControlEvent> = [];
  private holding = true;
  private out: Pick<Subscriber<SseMessage>, 'next' | 'complete'> | null = null;
  private budget: SlowClientBudget | null = null;
  // Ids that exist are far below 2^53, so the cursor compares as a number.
  private cursor = 0;
  private cursorText = '0';
  private _closed = false;
  // Paced below the budget, so a reading client is never dropped by its own replay.
  private readonly replayPauseAbove: number;

  constructor(
    private readonly response: Pick<Response, 'destroy'>,
    private readonly socket: Socket,
    private readonly slowClientBytes: number,
    /** Counts a drop (the client stopped reading). */
    private readonly onDrop: () => void,
  ) {
    this.replayPauseAbove = Math.min(REPLAY_BACKLOG_BYTES, Math.floor(slowClientBytes / 2));
  }

  get closed(): boolean {
    return this._closed;
  }

  get backlog(): number {
    return this.budget?.backlog ?? 0;
  }

  /** The hub's way in: one call per event. Pings are never held: they pass during a replay. */
  readonly receive = (e: Frame | ControlEvent): void => {
    if (this._closed) return;
    const ping = !('seq' in e) && e.type === 'ping';
    if (this.holding && !ping) {
      this.held.push(e);
      if (this.out && this.held.length > MAX_HELD) this.drop();
      return;
    }
    if (!this.out) return;
    if ('seq' in e) this.writeFrame(e);
    else this.writeControl(e);
  };

  /** Subscribed: `ready`, `reset` if any, then the held events unless a replay comes first. */
  start(out: Pick<Subscriber<SseMessage>, 'next' | 'complete'>, s: ConnectionStart): void {
    this.out = out;
    // Nest writes the headers as soon as the first event comes, then the event: held back
    // until this turn's writes are done, they leave together.
    gatherFirstWrites(this.socket);
    this.budget = new SlowClientBudget(this.socket, this.slowClientBytes, () => this.drop());
    this.cursor = Number(s.cursor);
    this.cursorText = s.cursor.toString();
    out.next({
      type: 'ready',
      id: this.cursorText,
      retry: s.retryMs,
      data: JSON.stringify({ cursor: this.cursorText } satisfies ReadyPayload),
    });
    if (s.reset)
      out.next({
        type: 'reset',
        id: this.cursorText,
        data: JSON.stringify({ reason: s.reset } satisfies ResetPayload),
      });
    if (!s.replay) this.endReplay();
  }

  writeReplayed(frame: Frame): void {
    this.writeFrame(frame);
  }

  /** The replay is over: the held live events follow, then live ones as they come. */
  endReplay(): void {
    this.holding = false;
    for (const e of this.held.splice(0)) {
      if (this._closed) break;
      this.receive(e);
    }
  }

  /** The replay should wait for the client (paceReplay) before it writes more. */
  get replayAhead(): boolean {
    return this.backlog > this.replayPauseAbove;
  }

  /** Resolves once the client has taken most of what was written, is gone, or stalled (then dropped). */
  async paceReplay(): Promise<void> {
    let lowest = this.backlog;
    let progressAt = Date.now();
    while (this.replayAhead && !this._closed && !this.socket.destroyed) {
      if (this.backlog < lowest) {
        lowest = this.backlog;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > REPLAY_STALL_MS) {
        this.drop();
        return;
      }
      await drainOrTick(this.socket);
    }
  }

  /** A clean end (the client reconnects with the last id it really received). */
  end(): void {
    if (this._closed) return;
    this._closed = true;
    this.out?.complete();
  }

  /** Unsubscribed. */
  close(): void {
    this._closed = true;
    this.budget?.stop();
  }

  private drop(): void {
    if (this._closed) return;
    this.onDrop();
    this._closed = true;
    this.response.destroy();
    this.out?.complete();
  }

  private writeFrame(frame: Frame): void {
    if (frame.seq <= this.cursor) return;
    this.cursor = frame.seq;
    this.cursorText = frame.message.id!;
    this.out!.next(frame.message);
    this.budget!.add(frame.size);
  }

  private writeControl(event: ControlEvent): void {
    if (event.type === 'ping') this.out!.next(PING_MESSAGE);
    else if (event.type === 'end') {
      // With the id it has: an id-less message would get one from Nest, and become Last-Event-ID.
      if (event.retryMs !== undefined) this.out!.next({ id: this.cursorText, retry: event.retryMs });
      this.end();
    } else this.out!.next({ type: event.type, id: this.cursorText, data: JSON.stringify(event.payload) });
  }
}

function drainOrTick(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, 20);
    function done() {
      clearTimeout(timer);
      socket.off('drain', done);
      resolve();
    }
    socket.once('drain', done);
  });
}

/**
 * Sockets of streams that just opened, corked until the end of this turn of the event loop:
 * Nest sends a stream's headers on their own (flushHeaders), then `ready` and what follows it
 * in the same turn, and each socket write is a system call. Nest's writes reach the socket
 * within the turn, so one `setImmediate` for all the sockets of the turn uncorks them after.
 */
const gathering: Socket[] = [];

function gatherFirstWrites(socket: Socket): void {
  socket.cork();
  if (gathering.push(socket) === 1) setImmediate(releaseFirstWrites);
}

function releaseFirstWrites(): void {
  for (const socket of gathering.splice(0)) socket.uncork();
}
