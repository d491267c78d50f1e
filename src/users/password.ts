import { ServiceUnavailableException } from '@nestjs/common';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { availableParallelism } from 'node:os';

/**
 * argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane). @node-rs/argon2 is a
 * prebuilt N-API binding whose async calls run on libuv's thread pool, so hashing
 * never blocks the event loop: open streams and /health stay live while sign-ups
 * hash (issue 13). It writes and reads the same PHC strings as hash-wasm, which
 * produced the hashes already stored. (The `argon2` addon's prebuilt binary
 * crashed on this platform; this one ships per-platform packages, no install script.)
 */
// Algorithm.Argon2id: a const enum, which isolatedModules cannot read from a .d.ts.
const ARGON2ID = 2 as Algorithm;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1, outputLen: 32 };

/**
 * At most one hash per core but one runs at a time: off the event loop is not enough
 * when four pool threads would take every core from it (and from fs and dns work that
 * shares libuv's pool). Further hashes wait their turn, MAX_WAITING at most (a second or
 * two of hashing): past that a sign-in or sign-up is refused at once with 503 and
 * Retry-After instead of joining a queue that a flood from many addresses (each within
 * its own throttle) would make minutes long for everyone.
 */
export const MAX_CONCURRENT = Math.max(1, availableParallelism() - 1);
export const MAX_WAITING = 64;
let running = 0;
const waiting: Array<() => void> = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) {
    if (waiting.length >= MAX_WAITING) {
      throw new ServiceUnavailableException('Too many sign-ins and sign-ups at once; try again in a moment');
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, OPTIONS));
}

/** False for a wrong password or a malformed hash; throws 503 when too many hashes wait. */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return limited(() => verify(hash, password).catch(() => false));
}

/** Verifying against this keeps an unknown email as slow as a wrong password (off the event loop too). */
export const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$H802ZnZrjYe9qkX4jQfBWTQtJnmj6Noz+sJrSQ8gzOM';
