import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/**
 * A unit of work: the EntityManager of one database transaction, plus the
 * callbacks to run once it has committed. Event sources receive a Tx and hand
 * it to NotificationPublisher.publish, so their state change and the
 * notification commit together or not at all.
 */
export class Tx {
  private readonly committed: Array<() => void> = [];
  constructor(readonly manager: EntityManager) {}

  /** Runs after COMMIT succeeded; never if the transaction rolls back. */
  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  /** @internal */
  runAfterCommit(): void {
    for (const fn of this.committed) {
      try {
        fn();
      } catch {
        // After-commit hooks only wake in-memory fan-out; they must not turn a
        // committed request into an error. The feed's poll catches anything missed.
      }
    }
  }
}

@Injectable()
export class TransactionRunner {
  constructor(private readonly dataSource: DataSource) {}

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    let tx!: Tx;
    const result = await this.dataSource.transaction(async (manager) => {
      tx = new Tx(manager);
      return work(tx);
    });
    tx.runAfterCommit();
    return result;
  }
}
