import type { EventEmitter } from 'node:events';

/**
 * Polls a state outside the test process (a database table, a queue) until
 * `done` holds: there is no event to await for a row another process writes.
 * Fails with what was last read when `timeoutMs` passes.
 */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves with `got()` once it holds `n` or more, checked now and on every `event` of a stand-in
 * (a test server that emits what it receives); fails with `shortfall(got().length)` after `timeoutMs`.
 */
export function countReached<T>(
  source: EventEmitter,
  event: string,
  got: () => T[],
  n: number,
  timeoutMs: number,
  shortfall: (count: number) => string,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const now = got();
      if (now.length < n) return;
      cleanup();
      resolve(now);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(shortfall(got().length)));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      source.off(event, check);
    };
    source.on(event, check);
    check();
  });
}
