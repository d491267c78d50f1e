import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { TimerLoop } from '../src/common/timer-loop.js';

/** The escalation scanner's and the snooze waker's loop, with no Nest module. */
describe('TimerLoop', () => {
  it('runs each time the last run asks, and a second start is nothing', async () => {
    const loop = new TimerLoop();
    const runs: number[] = [];
    const run = async (): Promise<void> => {
      runs.push(runs.length);
      if (runs.length < 3) loop.runIn(0, run);
    };
    loop.start(0, run);
    loop.start(0, run);
    await sleep(50);
    expect(runs).toStrictEqual([0, 1, 2]);
    await loop.stop();
  });

  it('stop() cancels the next run and waits for the one in flight', async () => {
    const loop = new TimerLoop();
    let finished = false;
    let later = false;
    loop.start(0, async () => {
      await sleep(30);
      finished = true;
      loop.runIn(0, async () => {
        later = true;
      });
    });
    await sleep(10);
    await loop.stop();
    expect(finished).toBe(true);
    await sleep(20);
    expect(later).toBe(false);
  });
});
