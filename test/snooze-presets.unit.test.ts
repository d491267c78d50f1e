import { describe, expect, it } from '@jest/globals';
import { snoozeUntil } from '../public/snooze.js';

/**
 * The page's snooze presets are wall-clock times in the user's zone: 08:00 stays 08:00 across a
 * daylight-saving change, and "next week" is the next Monday, a whole week on a Monday.
 */
describe('snooze presets', () => {
  /** The preset's end as an ISO string, asked in `zone` at the instant `now`. */
  const until = (preset: Parameters<typeof snoozeUntil>[0], zone: string, now: string) =>
    snoozeUntil(preset, zone, Date.parse(now)).toISOString();

  it('1 hour is 3,600 seconds from now', () => {
    expect(until('hour', 'Europe/Berlin', '2026-12-07T14:00:00Z')).toBe('2026-12-07T15:00:00.000Z');
  });

  it('tomorrow morning is 08:00 of the next day in the zone, not in UTC', () => {
    // 23:30 UTC on Monday is already Tuesday 08:30 in Tokyo: tomorrow there is Wednesday.
    expect(until('tomorrow', 'Asia/Tokyo', '2026-12-07T23:30:00Z')).toBe('2026-12-08T23:00:00.000Z');
    expect(until('tomorrow', 'America/Los_Angeles', '2026-12-07T23:30:00Z')).toBe('2026-12-08T16:00:00.000Z');
  });

  it('keeps 08:00 across the spring-forward and fall-back nights', () => {
    // New York moves to EDT (UTC−4) at 02:00 on Sunday 8 March 2026.
    expect(until('tomorrow', 'America/New_York', '2026-03-07T15:00:00Z')).toBe('2026-03-08T12:00:00.000Z');
    // Berlin moves back to CET (UTC+1) at 03:00 on Sunday 25 October 2026.
    expect(until('tomorrow', 'Europe/Berlin', '2026-10-24T12:00:00Z')).toBe('2026-10-25T07:00:00.000Z');
  });

  it('next week is the next Monday at 08:00; on a Monday, the one after', () => {
    // Saturday 7 March 2026 in New York: Monday the 9th, in EDT.
    expect(until('week', 'America/New_York', '2026-03-07T15:00:00Z')).toBe('2026-03-09T12:00:00.000Z');
    // Monday 7 December 2026 in Berlin: Monday the 14th.
    expect(until('week', 'Europe/Berlin', '2026-12-07T14:00:00Z')).toBe('2026-12-14T07:00:00.000Z');
    // Sunday 13 December 2026 in Berlin: the next day.
    expect(until('week', 'Europe/Berlin', '2026-12-13T10:00:00Z')).toBe('2026-12-14T07:00:00.000Z');
  });
});
