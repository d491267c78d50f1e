import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';

/**
 * "This session / this user's sessions are no longer valid": emitted on logout
 * and when an admin changes a user's role or disables them. The notifications
 * module ends the matching open streams; the bus relays revocations between
 * instances. Auth knows nothing about streams.
 */
export type Revocation = { kind: 'session'; sessionId: string } | { kind: 'user'; userId: string };

@Injectable()
export class SessionRevocations {
  private readonly subject = new Subject<Revocation>();
  readonly revoked$: Observable<Revocation> = this.subject.asObservable();

  revoke(revocation: Revocation): void {
    this.subject.next(revocation);
  }
}
