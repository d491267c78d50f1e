import { describe, expect, it } from '@jest/globals';
import type { Tx } from '../src/database/transaction.js';
import { EscalationPort } from '../src/notifications/escalation-port.js';
import type { NotificationRow } from '../src/notifications/notification.types.js';

const tx = {} as Tx;
const row = { id: '9', user_id: null, deliver: ['email'] } as unknown as NotificationRow;

describe('EscalationPort: how delivery plugs into the core', () => {
  it('tells every subscriber of streamed$, and nobody once unsubscribed', () => {
    const port = new EscalationPort();
    port.streamed('1', '7'); // no subscriber yet: nowhere to go, no error
    const seen: unknown[] = [];
    const sub = port.streamed$.subscribe((s) => seen.push(s));
    port.streamed('2', '7');
    sub.unsubscribe();
    port.streamed('3', '7');
    expect(seen).toStrictEqual([{ notificationId: '2', userId: '7' }]);
  });

  it('awaits each broadcast listener in turn, inside the transaction; a failure reaches the publisher', async () => {
    const port = new EscalationPort();
    const calls: string[] = [];
    const off = port.onBroadcast(async (t, r) => {
      await Promise.resolve();
      calls.push(`first ${r.id} ${t === tx}`);
    });
    port.onBroadcast(async () => {
      calls.push('second');
    });
    await port.broadcastPublished(tx, row);
    expect(calls).toStrictEqual(['first 9 true', 'second']);
    off();
    port.onBroadcast(() => Promise.reject(new Error('queue down')));
    await expect(port.broadcastPublished(tx, row)).rejects.toThrow('queue down');
    expect(calls).toStrictEqual(['first 9 true', 'second', 'second']);
  });
});
