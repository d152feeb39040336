import { describe, expect, it } from 'vitest';
import { SpareBuffers } from '../../lib/parts/spare-buffers';

/** A full collection; vitest runs with --expose-gc (vitest.config.ts). */
function collectGarbage(): void {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
  globalThis.gc();
}

describe('SpareBuffers', () => {
  it('hands a kept buffer back to a take of its exact size, once', () => {
    const spares = new SpareBuffers();
    const a = Buffer.alloc(16);
    spares.keep([a]);
    expect(spares.take(8)).toBeUndefined();
    expect(spares.take(32)).toBeUndefined();
    expect(spares.take(16)).toBe(a);
    expect(spares.take(16)).toBeUndefined();
  });

  it('keeps at most its limit per size', () => {
    const spares = new SpareBuffers(2);
    const kept = [Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)];
    spares.keep(kept);
    expect(spares.count(8)).toBe(2);
  });

  it('holds nothing alive: a full collection frees spares nobody else references', async () => {
    const spares = new SpareBuffers();
    // Created in a function that has returned, so no stack slot keeps them.
    (() => spares.keep([Buffer.allocUnsafeSlow(1024 * 1024), Buffer.allocUnsafeSlow(1024 * 1024)]))();
    expect(spares.count(1024 * 1024)).toBe(2);
    // WeakRef targets live at least until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(spares.count(1024 * 1024)).toBe(0);
    expect(spares.take(1024 * 1024)).toBeUndefined();
  });

  it('forgets a size once the GC took its spares: lengths nobody asks for again leave no entry behind', async () => {
    const spares = new SpareBuffers();
    (() => {
      for (let size = 1; size <= 2000; size++) spares.keep([Buffer.allocUnsafeSlow(size)]);
    })();
    expect(spares.sizes).toBe(2000);
    // Collections, and turns for the finalization callbacks that follow them.
    for (let i = 0; i < 5 && spares.sizes > 0; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(spares.sizes).toBe(0);
  });

  it('a spare taken and kept again is still there after a collection, while something holds it', async () => {
    const spares = new SpareBuffers();
    const kept = Buffer.alloc(64);
    spares.keep([kept]);
    expect(spares.take(64)).toBe(kept);
    spares.keep([kept]);
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 10));
    // `kept` is alive (this test holds it): its entry stays.
    expect(spares.count(64)).toBe(1);
    expect(spares.take(64)).toBe(kept);
  });

  it('a buffer kept and taken upload after upload is registered once: memory stays flat', async () => {
    // Registering on every keep left one registry cell per upload for the life of the process
    // (+275 MiB of heap after 400k keep/take). 100k rounds would leave ~70 MiB; allow 4.
    const spares = new SpareBuffers();
    const buffer = Buffer.alloc(64);
    const round = () => {
      for (let i = 0; i < 100_000; i++) {
        spares.keep([buffer]);
        spares.take(64);
      }
    };
    round(); // warm up: code and maps settle
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    round();
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024);
  });

  it('keeping the same buffer twice lists it once', () => {
    const spares = new SpareBuffers();
    const buffer = Buffer.alloc(32);
    spares.keep([buffer]);
    spares.keep([buffer]);
    expect(spares.take(32)).toBe(buffer);
    expect(spares.take(32)).toBeUndefined();
  });
});
