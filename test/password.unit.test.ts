import { describe, expect, it } from '@jest/globals';
import { ServiceUnavailableException } from '@nestjs/common';
import { DUMMY_HASH, MAX_CONCURRENT, MAX_WAITING, verifyPassword } from '../src/users/password.js';

describe('the password hashing queue', () => {
  it('refuses a hash at once with 503 when MAX_WAITING wait already, and drains', async () => {
    const extra = 10;
    const calls = Array.from({ length: MAX_CONCURRENT + MAX_WAITING + extra }, () =>
      verifyPassword('wrong-password', DUMMY_HASH),
    );
    const results = await Promise.allSettled(calls);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(refused.length).toBe(extra);
    for (const reason of refused) {
      expect(reason).toBeInstanceOf(ServiceUnavailableException);
      expect((reason as ServiceUnavailableException).getStatus()).toBe(503);
    }
    expect(results.filter((r) => r.status === 'fulfilled' && r.value === false).length).toBe(
      MAX_CONCURRENT + MAX_WAITING,
    );
    // Nothing is left waiting or running: the next one is checked.
    expect(await verifyPassword('wrong-password', DUMMY_HASH)).toBe(false);
  });
});
