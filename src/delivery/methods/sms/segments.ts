import { SegmentedMessage } from 'sms-segments-calculator';

/** An SMS is cut to this many segments: 2 × 153 GSM-7 characters, or 2 × 67 UCS-2 code units. */
export const MAX_SEGMENTS = 2;

export interface SegmentCount {
  /** GSM-7 (160 a segment alone, 153 when joined; the extension table's characters count 2) or UCS-2 (70 / 67). */
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
}

/** Twilio's own calculator: the GSM 03.38 tables, surrogate pairs, graphemes never split. */
export function countSegments(text: string): SegmentCount {
  const m = new SegmentedMessage(text, 'auto');
  return { encoding: m.encodingName, segments: m.segmentsCount };
}

/** Longest text the cut looks at: far past 2 segments, so a huge body costs no more. */
const MAX_SCANNED = 1_000;

/**
 * `text` + `suffix` as it fits in `max` segments: unchanged, or `text` cut at a grapheme with an
 * ellipsis (the suffix, a link, is kept whole). A GSM-7 text ends in "..." since "…" is not in
 * GSM-7 and would turn the whole message into UCS-2 (halving its room).
 */
export function fitSegments(text: string, max = MAX_SEGMENTS, suffix = ''): string {
  if (countSegments(text + suffix).segments <= max) return text + suffix;
  const graphemes = new SegmentedMessage(text.slice(0, MAX_SCANNED * 2), 'auto').graphemes.slice(0, MAX_SCANNED);
  const ellipsis = countSegments(graphemes.join('') + suffix).encoding === 'GSM-7' ? '...' : '…';
  const cut = (n: number) => `${graphemes.slice(0, n).join('').trimEnd()}${ellipsis}${suffix}`;
  // The longest prefix that still fits, by bisection (more graphemes never take fewer segments).
  let lo = 0;
  let hi = graphemes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (countSegments(cut(mid)).segments <= max) lo = mid;
    else hi = mid - 1;
  }
  return cut(lo);
}
