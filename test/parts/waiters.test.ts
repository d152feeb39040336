import { describe, expect, it } from 'vitest';
import { Waiters } from '../../lib/parts/waiters';

describe('Waiters', () => {
  it('wakes waiters first come, first served, and says when nobody waits', async () => {
    const waiters = new Waiters<number>();
    const signal = new AbortController().signal;
    const first = waiters.wait(signal);
    const second = waiters.wait(signal);
    expect(waiters.wakeOne(1)).toBe(true);
    expect(waiters.wakeOne(2)).toBe(true);
    expect(waiters.wakeOne(3)).toBe(false);
    expect(await first).toBe(1);
    expect(await second).toBe(2);
  });

  it('an aborted waiter leaves the line with the reason; the next one gets the value', async () => {
    const waiters = new Waiters<string>();
    const controller = new AbortController();
    const leaving = waiters.wait(controller.signal);
    const staying = waiters.wait(new AbortController().signal);
    controller.abort(new Error('gone'));
    await expect(leaving).rejects.toThrow('gone');
    expect(waiters.size).toBe(1);
    waiters.wakeOne('buffer');
    expect(await staying).toBe('buffer');
    await expect(waiters.wait(controller.signal)).rejects.toThrow('gone');
  });

  it('rejectAll empties the line', async () => {
    const waiters = new Waiters<void>();
    const waiting = waiters.wait(new AbortController().signal);
    waiters.rejectAll(new Error('failed'));
    await expect(waiting).rejects.toThrow('failed');
    expect(waiters.size).toBe(0);
  });
});
