import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../lib/parts/buffer-pool';
import { SpareBuffers, spareBuffers } from '../../lib/parts/spare-buffers';
import { drainSpares } from '../helpers';

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

  describe('retire: an ended upload leaves its buffers to the next', () => {
    it('the next pool of the same size takes the free buffers instead of allocating', () => {
      const spares = new SpareBuffers();
      const first = new BufferPool(16, 2, spares);
      const a = first.tryAcquire()!;
      const b = first.tryAcquire()!;
      first.release(a);
      first.release(b);
      first.retire();
      const next = new BufferPool(16, 3, spares);
      const taken = [next.tryAcquire(), next.tryAcquire(), next.tryAcquire()];
      expect(taken).toContain(a);
      expect(taken).toContain(b);
      expect(taken.every((buffer) => buffer !== undefined && buffer.length === 16)).toBe(true);
      expect(new Set(taken).size).toBe(3);
    });

    it('a spare still counts against the capacity: a pool never holds more than its bound', () => {
      const spares = new SpareBuffers();
      spares.keep([Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)]);
      const pool = new BufferPool(8, 2, spares);
      expect(pool.tryAcquire()).toBeDefined();
      expect(pool.tryAcquire()).toBeDefined();
      expect(pool.tryAcquire()).toBeUndefined();
      expect(pool.created).toBe(2);
      expect(spares.count(8)).toBe(1);
    });

    it('a pool of another size allocates its own', () => {
      const spares = new SpareBuffers();
      const first = new BufferPool(16, 1, spares);
      const a = first.tryAcquire()!;
      first.release(a);
      first.retire();
      const other = new BufferPool(32, 1, spares);
      const b = other.tryAcquire()!;
      expect(b).not.toBe(a);
      expect(b.length).toBe(32);
    });

    it('only released buffers leave: one still held when the upload ends, or released after, never does', () => {
      const spares = new SpareBuffers();
      const first = new BufferPool(8, 2, spares);
      const held = first.tryAcquire()!;
      const freed = first.tryAcquire()!;
      first.release(freed);
      first.retire();
      // A part that settles after its upload ended (an aborted request) must not hand on its buffer.
      first.release(held);
      expect(spares.count(8)).toBe(1);
      expect(spares.take(8)).toBe(freed);
      expect(spares.take(8)).toBeUndefined();
      // A retired pool hands out nothing it had: the released buffer is not back in it either.
      expect(first.tryAcquire()).toBeUndefined();
    });

    it('retiring twice keeps nothing twice', () => {
      const spares = new SpareBuffers();
      const pool = new BufferPool(8, 1, spares);
      pool.release(pool.tryAcquire()!);
      pool.retire();
      pool.retire();
      expect(spares.count(8)).toBe(1);
    });

    it('a pool without spares neither takes from nor leaves to the shared ones', () => {
      const size = 24 + Math.floor(Math.random() * 1000) * 8; // a size no other test uses
      const shared = Buffer.alloc(size);
      spareBuffers.keep([shared]);
      try {
        const pool = new BufferPool(size, 1, null);
        const own = pool.tryAcquire()!;
        expect(own).not.toBe(shared);
        pool.release(own);
        pool.retire();
        expect(spareBuffers.count(size)).toBe(1);
        expect(spareBuffers.take(size)).toBe(shared);
      } finally {
        drainSpares(size);
      }
    });
  });
});
