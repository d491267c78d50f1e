import type { QuietHours } from '../../client/wire.js';

/**
 * Quiet hours in the user's own time zone, with no date library: Intl knows
 * every IANA zone and its DST rules. Part of the preferences: the core checks
 * them, delivery waits for them. Pure functions, tested without Nest.
 */

export const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

/**
 * An IANA zone name this runtime (and so the scheduler) knows, in its canonical spelling
 * (`europe/berlin` → `Europe/Berlin`, `US/Pacific` → `America/Los_Angeles`); null if unknown.
 * One spelling per zone keeps what is stored, compared and cached the same.
 */
export function canonicalTimeZone(zone: string): string | null {
  if (typeof zone !== 'string' || zone === '' || zone.length > 64) return null;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/**
 * Formatters by zone, the most recently used last. Bounded: rows stored before zones were
 * canonicalised may spell one zone many ways, and each spelling would otherwise stay forever.
 */
export const MAX_CACHED_ZONES = 256;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** How many formatters are cached (for tests). */
export const cachedZones = (): number => formatters.size;

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f) {
    formatters.delete(zone);
    formatters.set(zone, f);
  } else {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
    if (formatters.size > MAX_CACHED_ZONES) formatters.delete(formatters.keys().next().value!);
  }
  return f;
}

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

function wallClock(at: number, zone: string): Wall {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year, mo: parts.month, d: parts.day, h: parts.hour % 24, mi: parts.minute, s: parts.second };
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(at: number, zone: string): number {
  const w = wallClock(at, zone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(at / 1000) * 1000;
}

function minutes(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** Whether `at` falls inside the window (start inclusive, end exclusive; start > end spans midnight). */
export function isQuiet(q: QuietHours, at: number): boolean {
  const w = wallClock(at, q.timeZone);
  const m = w.h * 60 + w.mi;
  const s = minutes(q.start);
  const e = minutes(q.end);
  if (s === e) return false;
  return s < e ? m >= s && m < e : m >= s || m < e;
}

/**
 * If `now` is inside the quiet hours, the first instant after it that is not
 * (their end, in the zone's wall clock of that day); otherwise null. On a DST
 * change the end's wall time may not exist (spring forward) or exist twice
 * (fall back): the answer is the first instant whose wall clock is outside.
 */
export function quietUntil(q: QuietHours | null, now: number): number | null {
  if (!q || !isQuiet(q, now)) return null;
  const w = wallClock(now, q.timeZone);
  const m = w.h * 60 + w.mi;
  const e = minutes(q.end);
  // The end's local date: today if it is still ahead on today's clock, else tomorrow.
  const dayShift = m < e ? 0 : 1;
  const wallEnd = Date.UTC(w.y, w.mo - 1, w.d + dayShift, Math.floor(e / 60), e % 60, 0);
  // Wall time to instant: subtract the offset, then correct once with the offset there.
  let at = wallEnd - offsetAt(wallEnd, q.timeZone);
  at = wallEnd - offsetAt(at, q.timeZone);
  if (at <= now) at = now + 60_000;
  // A DST change can put that instant still inside (fall back) or skip the end (spring
  // forward, where any instant found is already outside): walk on to the first minute out.
  for (let i = 0; i < 24 * 4 && isQuiet(q, at); i++) at += 15 * 60_000;
  while (at - 60_000 > now && !isQuiet(q, at - 60_000)) at -= 60_000;
  return at;
}
