import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

interface Connection {
  /** Responses on this socket not yet closed. */
  busy: number;
  /** When its last response closed (or it connected). */
  idleSince: number;
  timer: NodeJS.Timeout | null;
}

/** What a drain did, for the shutdown's log line. */
export interface DrainResult {
  /** Responses sent with `Connection: close` while draining (in flight, or new ones on kept-alive sockets). */
  closedAfterResponse: number;
  /** Requests that would hold their connection (streams) refused by closing it. */
  refusedLong: number;
  /** Sockets idle for the whole window that the server closed itself (the peer did not). */
  closedIdle: number;
  /** Connections still open at the deadline (cut by the app's close). */
  leftOpen: number;
}

/**
 * Stopping an HTTP server behind a balancer without a reset. A balancer keeps idle kept-alive
 * connections and may send a request on one at any moment; if the server closes it at that
 * moment the request is reset, and nginx answers a POST with 502 (it does not retry what may
 * have run). So while draining: the listening socket is closed (new connections go elsewhere),
 * every response says `Connection: close` (the balancer drops that connection itself after
 * reading it), and a socket is closed by the server only once it has been idle for the whole
 * window, longer than the balancer keeps an idle upstream connection (nginx: the upstream's
 * `keepalive_timeout`), by when the balancer has closed it.
 */
export class HttpDrain {
  private readonly connections = new Map<Socket, Connection>();
  private readonly pending = new Set<ServerResponse>();
  private draining = false;
  private windowMs = 0;
  private allClosed: (() => void) | null = null;
  private readonly result: DrainResult = { closedAfterResponse: 0, refusedLong: 0, closedIdle: 0, leftOpen: 0 };

  /**
   * `holdsOpen`: requests that would keep their connection open for long (a stream). While
   * draining they are not answered: their connection is closed, as the closed listening socket
   * refuses one, and nginx passes such a GET to the next instance (a browser reconnects).
   */
  constructor(
    private readonly server: Server,
    private readonly holdsOpen: (req: IncomingMessage) => boolean = () => false,
  ) {
    server.on('connection', (socket: Socket) => {
      const conn: Connection = { busy: 0, idleSince: Date.now(), timer: null };
      this.connections.set(socket, conn);
      if (this.draining) this.closeWhenIdleLong(socket, conn);
      socket.once('close', () => {
        if (conn.timer) clearTimeout(conn.timer);
        this.connections.delete(socket);
        if (this.connections.size === 0) this.allClosed?.();
      });
    });
    // First among the listeners: the header is set before any handler can send headers.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      if (this.draining && this.holdsOpen(req)) {
        this.result.refusedLong++;
        socket.destroy();
        return;
      }
      const conn = this.connections.get(socket);
      if (conn) {
        conn.busy++;
        if (conn.timer) clearTimeout(conn.timer);
        conn.timer = null;
      }
      this.pending.add(res);
      if (this.draining) this.closeAfter(res);
      res.once('close', () => {
        this.pending.delete(res);
        if (!conn) return;
        conn.busy--;
        if (conn.busy > 0) return;
        conn.idleSince = Date.now();
        if (this.draining) this.closeWhenIdleLong(socket, conn);
      });
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Starts draining: stops accepting, answers with `Connection: close`, closes sockets idle for
   * `windowMs`. Resolves when every connection has closed, or at `deadlineMs` (requests that
   * run longer, or streams not yet ended; the caller then cuts them).
   */
  drain(windowMs: number, deadlineMs: number): Promise<DrainResult> {
    if (this.draining) throw new Error('already draining');
    this.draining = true;
    this.windowMs = windowMs;
    // http.Server#close would also close the idle kept-alive sockets at once (Node ≥ 19): the reset.
    NetServer.prototype.close.call(this.server);
    for (const res of this.pending) this.closeAfter(res);
    for (const [socket, conn] of this.connections) if (conn.busy === 0) this.closeWhenIdleLong(socket, conn);
    return new Promise<DrainResult>((resolve) => {
      const done = () => {
        clearTimeout(deadline);
        this.allClosed = null;
        this.result.leftOpen = this.connections.size;
        resolve(this.result);
      };
      const deadline = setTimeout(done, deadlineMs);
      this.allClosed = done;
      if (this.connections.size === 0) done();
    });
  }

  private closeAfter(res: ServerResponse): void {
    if (res.headersSent) return;
    res.setHeader('Connection', 'close');
    this.result.closedAfterResponse++;
  }

  private closeWhenIdleLong(socket: Socket, conn: Connection): void {
    if (conn.timer) clearTimeout(conn.timer);
    const idleFor = Date.now() - conn.idleSince;
    conn.timer = setTimeout(
      () => {
        conn.timer = null;
        if (conn.busy > 0 || socket.destroyed) return;
        this.result.closedIdle++;
        socket.destroy();
      },
      Math.max(0, this.windowMs - idleFor),
    );
  }
}
