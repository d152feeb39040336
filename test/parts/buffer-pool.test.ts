import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../lib/parts/buffer-pool';

describe('BufferPool', () => {
  it('allocates lazily up to its capacity, then recycles', () => {
    const pool = new BufferPool(16, 2);
    const a = pool.tryAcquire()!;
    const b = pool.tryAcquire()!;
    expect(pool.tryAcquire()).toBeUndefined();
    expect(pool.created).toBe(2);
    pool.release(a);
    expect(pool.tryAcquire()).toBe(a);
    expect(b.length).toBe(16);
  });

  it('hands a released buffer to the oldest waiter', async () => {
    const pool = new BufferPool(8, 1);
    const only = pool.tryAcquire()!;
    const signal = new AbortController().signal;
    const first = pool.acquire(signal);
    const second = pool.acquire(signal);
    pool.release(only);
    expect(await first).toBe(only);
    pool.release(only);
    expect(await second).toBe(only);
  });

  it('an aborted wait rejects with the reason and gives up its place', async () => {
    const pool = new BufferPool(8, 1);
    const only = pool.tryAcquire()!;
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    pool.release(only);
    expect(pool.tryAcquire()).toBe(only);
  });
});
