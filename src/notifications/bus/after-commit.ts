import type { Tx } from '../../database/transaction.js';

/**
 * "committed" messages of a bus that cannot take part in the transaction
 * (Redis): published once it commits. Those that cannot go out (Redis away)
 * are coalesced into one message without rows, the highest id, sent when it is
 * back: every feed then reads those rows from the table.
 */
export class AfterCommitAnnouncer {
  private pendingUpTo: bigint | null = null;

  constructor(
    private readonly publish: (message: string) => Promise<unknown>,
    private readonly ready: () => boolean,
  ) {}

  announce(tx: Tx, upTo: string, messages: string[]): void {
    tx.afterCommit(() => this.send(BigInt(upTo), messages));
  }

  /** Sends what could not be sent, if anything (call it when the connection is back). */
  flush(): void {
    const upTo = this.pendingUpTo;
    if (upTo === null || !this.ready()) return;
    this.pendingUpTo = null;
    this.publish(JSON.stringify({ t: 'committed', upTo: upTo.toString() })).catch(() => this.keep(upTo));
  }

  private send(upTo: bigint, messages: string[]): void {
    if (!this.ready()) return this.keep(upTo);
    this.flush();
    for (const message of messages) this.publish(message).catch(() => this.keep(upTo));
  }

  /** Not sent: kept for the next flush (a newer id supersedes it). */
  private keep(upTo: bigint): void {
    if (this.pendingUpTo === null || upTo > this.pendingUpTo) this.pendingUpTo = upTo;
  }
}
