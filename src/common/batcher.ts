/**
 * DataLoader-style batching for lookups that arrive together (a reconnect
 * storm: thousands of stream opens within a second). Keys asked for during
 * one turn of the event loop go out as one query; while a query is in flight
 * new keys wait and go out together right after it, so the batch grows with
 * the load and a storm costs round trips per batch, not per caller. Equal keys
 * share one answer.
 *
 * Waiting for the query in flight alone batches little when the database
 * answers faster than callers arrive: a storm that keeps this process busy
 * brings a key or two per round trip, and each round trip costs more here
 * (a socket write is a system call, ~0.1 ms on the shared machines, plus the
 * query's own work) than the key's share of a larger one. So batches also
 * leave at most once per `minIntervalMs`: a key that arrives after a quiet
 * spell goes out on the next turn as before, and under a storm each batch
 * takes what arrived over that interval.
 */
export class Batcher<K, V> {
  private pending = new Map<K, Array<{ resolve: (v: V) => void; reject: (e: unknown) => void }>>();
  private scheduled = false;
  private inFlight = 0;
  /** When the last batch left (performance.now()), for minIntervalMs. */
  private lastSentAt = -Infinity;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly minIntervalMs: number;
  /** Queries sent so far (the tests and the benchmark count round trips with it). */
  batches = 0;

  /**
   * @param fetch answers for the given keys, in the same order
   * @param options.maxBatch keys per query at most
   * @param options.maxInFlight queries in flight at once
   * @param options.minIntervalMs time between the starts of two batches at least (a full batch goes at once)
   */
  constructor(
    private readonly fetch: (keys: K[]) => Promise<V[]>,
    options: { maxBatch?: number; maxInFlight?: number; minIntervalMs?: number } = {},
  ) {
    this.maxBatch = options.maxBatch ?? 1000;
    this.maxInFlight = options.maxInFlight ?? 1;
    this.minIntervalMs = options.minIntervalMs ?? 0;
  }

  load(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const waiting = this.pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    while (this.pending.size > 0 && this.inFlight < this.maxInFlight) {
      const wait = this.lastSentAt + this.minIntervalMs - performance.now();
      if (wait > 0 && this.pending.size < this.maxBatch) {
        // One timer for the whole batch, not one per caller.
        if (!this.scheduled) {
          this.scheduled = true;
          setTimeout(() => {
            this.scheduled = false;
            this.flush();
          }, wait);
        }
        return;
      }
      const batch = new Map<K, Array<{ resolve: (v: V) => void; reject: (e: unknown) => void }>>();
      for (const [key, waiters] of this.pending) {
        batch.set(key, waiters);
        this.pending.delete(key);
        if (batch.size >= this.maxBatch) break;
      }
      const keys = [...batch.keys()];
      this.inFlight++;
      this.batches++;
      this.lastSentAt = performance.now();
      void this.fetch(keys)
        .then(
          (values) => keys.forEach((k, i) => batch.get(k)!.forEach((w) => w.resolve(values[i]))),
          (err: unknown) => batch.forEach((waiters) => waiters.forEach((w) => w.reject(err))),
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}
