/**
 * The delay before reconnect attempt `attempt` (0 = the first after a drop).
 *
 * Never sooner than the server's `retry:` (`baseMs`): the server uses it to
 * spread load, e.g. while it restarts. Doubling per failed attempt, capped at
 * `maxMs`, with random jitter so that the thousands of browsers a restart
 * disconnects at the same instant do not come back at the same instant:
 * attempt n waits between base·2ⁿ and base·2ⁿ⁺¹; at the cap, between half the
 * cap and the cap (but still never under the server's minimum).
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.max(maxMs, baseMs);
  const exp = baseMs * 2 ** Math.max(0, attempt);
  if (exp >= cap) return Math.round(Math.max(baseMs, cap / 2 + (random() * cap) / 2));
  return Math.round(exp + random() * Math.min(exp, cap - exp));
}
