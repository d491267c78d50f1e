/**
 * The sends in flight of one method on this instance, shared by all its send jobs. A user's
 * rows are claimed only once a slot is theirs, so a killed instance leaves at most `capacity`
 * claims "outcome unknown" (docs/delivery.md), however many users its jobs carry. A job takes
 * slots in groups (one claim statement each), not one by one as they free: `take` waits until
 * `min(want, group)` are free. Waiters are served in order. (p-limit and its kind run tasks one
 * slot at a time; a group take is what saves the statements.)
 */
export class SendSlots {
  private free: number;
  private readonly waiting: Array<{ want: number; resolve: (n: number) => void }> = [];

  constructor(
    readonly capacity: number,
    private readonly group: number,
  ) {
    this.free = capacity;
  }

  /** Resolves with how many slots are now the caller's: at least min(want, group), at most want. */
  take(want: number): Promise<number> {
    return new Promise((resolve) => {
      this.waiting.push({ want: Math.max(1, Math.min(want, this.capacity)), resolve });
      this.serve();
    });
  }

  give(n: number): void {
    if (n <= 0) return;
    this.free += n;
    this.serve();
  }

  private serve(): void {
    while (this.waiting.length > 0) {
      const first = this.waiting[0];
      if (this.free < Math.min(first.want, this.group)) return;
      const n = Math.min(first.want, this.free);
      this.free -= n;
      this.waiting.shift();
      first.resolve(n);
    }
  }
}
