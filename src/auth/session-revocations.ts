import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';

/**
 * "This session / this user's sessions are no longer valid": emitted on logout
 * and when an admin changes a user's role or disables them. The notifications
 * module ends the matching open streams; the bus relays revocations between
 * instances. Auth knows nothing about streams.
 */
export type Revocation = { kind: 'session'; sessionId: string } | { kind: 'user'; userId: string };

/** What this instance learned: a revocation (raised here or relayed by the bus), or that it may have missed some. */
export type RevocationNotice = Revocation | { kind: 'unknown' };

@Injectable()
export class SessionRevocations {
  private readonly raised = new Subject<Revocation>();
  private readonly notices = new Subject<RevocationNotice>();
  /** Revocations raised on this instance (the notifications module relays them to every instance). */
  readonly revoked$: Observable<Revocation> = this.raised.asObservable();
  /** Every revocation this instance applies, raised here or received from the bus (the user cache listens). */
  readonly applied$: Observable<RevocationNotice> = this.notices.asObservable();
  private count = 0;

  /**
   * Bumped by every revocation this instance hears of. A reader that loaded
   * rights at generation g and finds it unchanged later knows no revocation
   * reached this instance in between (used by the user cache before it stores).
   */
  get generation(): number {
    return this.count;
  }

  revoke(revocation: Revocation): void {
    this.count++;
    this.notices.next(revocation);
    this.raised.next(revocation);
  }

  /** A revocation raised on another instance (from the bus). */
  received(revocation: Revocation): void {
    this.count++;
    this.notices.next(revocation);
  }

  /** The bus was away: revocations may have been missed, so nothing cached may be trusted. */
  mayHaveMissed(): void {
    this.count++;
    this.notices.next({ kind: 'unknown' });
  }
}
