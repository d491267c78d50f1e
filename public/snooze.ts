/**
 * The snooze presets, as instants: in an hour, tomorrow at 08:00 and next Monday at 08:00 on the
 * user's wall clock in their time zone (not the browser's offset today: a DST change in between
 * moves the instant, not the 08:00). Pure: Intl only.
 */

export type SnoozePreset = 'hour' | 'tomorrow' | 'week';

export const SNOOZE_PRESETS: ReadonlyArray<{ preset: SnoozePreset; label: string }> = [
  { preset: 'hour', label: 'For 1 hour' },
  { preset: 'tomorrow', label: 'Until tomorrow morning' },
  { preset: 'week', label: 'Until next week' },
];

const MORNING = { hour: 8, minute: 0 };

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday. */
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function wall(instant: number, timeZone: string): Wall {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday),
  };
}

/** The instant when the wall clock in `timeZone` shows this date and time (the later one in a gap). */
function zoned(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const target = Date.UTC(year, month - 1, day, hour, minute);
  let guess = target;
  // Twice: the offset at the first guess may differ from the one at the answer (a DST change).
  for (let i = 0; i < 2; i++) {
    const w = wall(guess, timeZone);
    guess += target - Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  }
  return guess;
}

/** When this preset ends, from `now`, on the wall clock of `timeZone` (an IANA name). */
export function snoozeUntil(preset: SnoozePreset, timeZone: string, now = Date.now()): Date {
  if (preset === 'hour') return new Date(now + 3_600_000);
  const today = wall(now, timeZone);
  // Days ahead: 1 for tomorrow; for next week, to the next Monday (7 on a Monday).
  const days = preset === 'tomorrow' ? 1 : (8 - today.weekday) % 7 || 7;
  const date = new Date(Date.UTC(today.year, today.month - 1, today.day + days));
  return new Date(
    zoned(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), MORNING.hour, MORNING.minute, timeZone),
  );
}

/** The browser's zone, or UTC where it cannot say. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
