/**
 * A backlog this large is dropped at once, grace or not: Nest drops a stream whose events
 * wait unwritten past twice this (StreamController), uncounted. SLOW_CLIENT_BYTES is at most
 * this much (config).
 */
export const IMMEDIATE_DROP_BYTES = 16 * 1024 * 1024;

/**
 * Over budget, a stream gets this long to get back under it. A page of the feed reaches
 * every stream in one burst, so right after one even a client that reads at once can be far
 * over; one that still is a second later is not reading.
 */
export const SLOW_GRACE_MS = 1000;

/**
 * How far a stream's client is behind: the bytes handed over for it minus the
 * bytes its socket has written since the stream began. Past `slowBytes` for
 * SLOW_GRACE_MS, or past IMMEDIATE_DROP_BYTES at once, `onExceeded` runs.
 */
export class SlowClientBudget {
  private readonly writtenAtStart: number;
  private queued = 0;
  private grace: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: { readonly bytesWritten: number },
    private readonly slowBytes: number,
    private readonly onExceeded: () => void,
  ) {
    this.writtenAtStart = socket.bytesWritten;
  }

  get backlog(): number {
    return this.queued - (this.socket.bytesWritten - this.writtenAtStart);
  }

  /** `bytes` more were handed over to be written. */
  add(bytes: number): void {
    this.queued += bytes;
    const behind = this.backlog;
    if (behind > IMMEDIATE_DROP_BYTES) return this.onExceeded();
    if (this.grace || behind <= this.slowBytes) return;
    this.grace = setTimeout(() => {
      this.grace = null;
      if (this.backlog > this.slowBytes) this.onExceeded();
    }, SLOW_GRACE_MS);
  }

  stop(): void {
    if (this.grace) clearTimeout(this.grace);
    this.grace = null;
  }
}
