/**
 * DataLoader-style batching for lookups that arrive together (a reconnect
 * storm: thousands of stream opens within a second). Keys asked for during
 * one turn of the event loop go out as one query; while a query is in flight
 * new keys wait and go out together right after it, so the batch grows with
 * the load and a storm costs round trips per batch, not per caller. Equal keys
 * share one answer.
 */
export class Batcher<K, V> {
  private pending = new Map<K, Array<{ resolve: (v: V) => void; reject: (e: unknown) => void }>>();
  private scheduled = false;
  private inFlight = 0;
  /** Queries sent so far (the tests and the benchmark count round trips with it). */
  batches = 0;

  /**
   * @param fetch answers for the given keys, in the same order
   * @param maxBatch keys per query at most
   * @param maxInFlight queries in flight at once
   */
  constructor(
    private readonly fetch: (keys: K[]) => Promise<V[]>,
    private readonly maxBatch = 1000,
    private readonly maxInFlight = 1,
  ) {}

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
      const batch = new Map<K, Array<{ resolve: (v: V) => void; reject: (e: unknown) => void }>>();
      for (const [key, waiters] of this.pending) {
        batch.set(key, waiters);
        this.pending.delete(key);
        if (batch.size >= this.maxBatch) break;
      }
      const keys = [...batch.keys()];
      this.inFlight++;
      this.batches++;
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
