/**
 * A background job on one timer, each run setting the next (`runIn`), until `stop()`, which
 * also waits for a run in flight: before the data source closes, a scan finishes (or fails
 * and rolls back). The timer never keeps the process alive.
 */
export class TimerLoop {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<unknown> = Promise.resolve();
  private stopped = true;

  /** Starts it with `run` in `ms`; nothing if it is running already. */
  start(ms: number, run: () => Promise<unknown>): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.runIn(ms, run);
  }

  /** `run` in `ms` (nothing once stopped). */
  runIn(ms: number, run: () => Promise<unknown>): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = run();
    }, ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
  }
}
