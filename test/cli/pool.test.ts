import { describe, expect, it } from 'vitest';
import { runPool } from '../../lib/cli/batch/pool';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runPool', () => {
  it('runs every item, in order, never more than `jobs` at once', async () => {
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const started = await runPool([1, 2, 3, 4, 5, 6, 7], 3, new AbortController().signal, async (n) => {
      order.push(n);
      running++;
      peak = Math.max(peak, running);
      await tick(5 + (n % 3) * 5);
      running--;
    });
    expect(started).toBe(7);
    expect(order).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it('once aborted, starts nothing more; the running ones end on their own', async () => {
    const controller = new AbortController();
    const done: number[] = [];
    const started = await runPool([1, 2, 3, 4, 5], 2, controller.signal, async (n) => {
      if (n === 2) controller.abort();
      await tick(5);
      done.push(n);
    });
    expect(started).toBe(2);
    expect(done.sort()).toEqual([1, 2]);
  });
});
