import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';

/**
 * What happened to notifications, for whoever tells other systems about it
 * (outbound webhooks): the core and delivery emit here, integrations subscribe.
 * Emitted after the change committed, on the instance that made it; with no
 * subscriber an event goes nowhere.
 */
export type Activity =
  | { type: 'notification.created'; notificationIds: string[]; userIds?: string[]; broadcast?: boolean }
  | { type: 'notification.read'; userId: string; notificationIds?: string[]; all?: boolean; channel?: string }
  | { type: 'notification.action'; userId: string; notificationId: string; actionId: string }
  | { type: 'delivery.sent'; userId: string; notificationIds: string[]; method: string }
  | { type: 'delivery.failed'; userId: string; notificationIds: string[]; method: string; error: string };

@Injectable()
export class NotificationActivity {
  private readonly events = new Subject<Activity>();
  readonly activity$: Observable<Activity> = this.events.asObservable();

  emit(event: Activity): void {
    if (this.events.observed) this.events.next(event);
  }
}
