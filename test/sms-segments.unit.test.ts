import { describe, expect, it } from '@jest/globals';
import { countSegments, fitSegments } from '../src/delivery/methods/sms/segments.js';
import { smsText } from '../src/delivery/methods/sms/sms-text.js';
import type { NotificationRow } from '../src/notifications/notification.types.js';

describe('SMS segments', () => {
  it('counts GSM-7: 160 alone, 153 a segment when joined', () => {
    expect(countSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1 });
    expect(countSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', segments: 2 });
    expect(countSegments('a'.repeat(306))).toEqual({ encoding: 'GSM-7', segments: 2 });
    expect(countSegments('a'.repeat(307))).toEqual({ encoding: 'GSM-7', segments: 3 });
  });

  it("counts the extension table's characters (€ [ ] { } ^ ~ | \\) as 2", () => {
    expect(countSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', segments: 1 });
    expect(countSegments('€'.repeat(81))).toEqual({ encoding: 'GSM-7', segments: 2 });
    expect(countSegments('{}'.repeat(40) + 'a')).toEqual({ encoding: 'GSM-7', segments: 2 });
    // Accented letters of the basic table are one each.
    expect(countSegments('é'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1 });
  });

  it('counts UCS-2: 70 alone, 67 joined, a character outside the BMP as 2', () => {
    expect(countSegments('ж'.repeat(70))).toEqual({ encoding: 'UCS-2', segments: 1 });
    expect(countSegments('ж'.repeat(71))).toEqual({ encoding: 'UCS-2', segments: 2 });
    expect(countSegments('ж'.repeat(134))).toEqual({ encoding: 'UCS-2', segments: 2 });
    expect(countSegments('ж'.repeat(135))).toEqual({ encoding: 'UCS-2', segments: 3 });
    expect(countSegments('😀'.repeat(35))).toEqual({ encoding: 'UCS-2', segments: 1 });
    // One non-GSM character turns the whole message into UCS-2.
    expect(countSegments('a'.repeat(100) + 'ж')).toEqual({ encoding: 'UCS-2', segments: 2 });
  });

  it('leaves a text that fits as it is', () => {
    expect(fitSegments('a'.repeat(306))).toBe('a'.repeat(306));
    expect(fitSegments('ж'.repeat(134))).toBe('ж'.repeat(134));
  });

  it('cuts GSM-7 to 2 segments with "..." (… would make it UCS-2)', () => {
    const cut = fitSegments('a'.repeat(1000));
    expect(cut).toBe('a'.repeat(303) + '...');
    expect(countSegments(cut)).toEqual({ encoding: 'GSM-7', segments: 2 });
    const euros = fitSegments('€'.repeat(400));
    expect(euros).toBe('€'.repeat(151) + '...');
    expect(countSegments(euros).segments).toBe(2);
  });

  it('cuts UCS-2 to 2 segments with …, never inside a character', () => {
    const cut = fitSegments('ж'.repeat(500));
    expect(cut).toBe('ж'.repeat(133) + '…');
    expect(countSegments(cut)).toEqual({ encoding: 'UCS-2', segments: 2 });
    const emoji = fitSegments('😀'.repeat(200));
    expect(emoji).toBe('😀'.repeat(66) + '…');
    expect(countSegments(emoji).segments).toBe(2);
  });
});

describe('the SMS of one escalation run', () => {
  const row = (id: string, title: string, body = 'Body.') =>
    ({ id, title, body, channel: 'order', severity: 'info' }) as unknown as NotificationRow;
  const inbox = 'https://notify.example.test/';

  it('one notification: its title and body, then the inbox link', () => {
    expect(smsText([row('1', 'Order #7 shipped', 'It is on its way.')], inbox)).toBe(
      `Order #7 shipped: It is on its way.\n${inbox}`,
    );
  });

  it('several: the count and the newest title', () => {
    expect(smsText([row('1', 'Old'), row('2', 'Middle'), row('3', 'Newest one')], inbox)).toBe(
      `3 new notifications. Newest: Newest one\n${inbox}`,
    );
  });

  it('cuts the text, never the link, to 2 segments', () => {
    const gsm = smsText([row('1', 'T', 'x'.repeat(2000))], inbox);
    expect(gsm.endsWith(`...\n${inbox}`)).toBe(true);
    expect(countSegments(gsm)).toEqual({ encoding: 'GSM-7', segments: 2 });
    const ucs = smsText([row('1', 'Заказ отправлен', 'ж'.repeat(500))], inbox);
    expect(ucs.endsWith(`…\n${inbox}`)).toBe(true);
    expect(countSegments(ucs)).toEqual({ encoding: 'UCS-2', segments: 2 });
  });
});
