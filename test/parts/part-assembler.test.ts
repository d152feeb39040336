import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../lib/parts/buffer-pool';
import { PartAssembler } from '../../lib/parts/part-assembler';
import type { FilledPart } from '../../lib/parts/part-body';
import type { PlanPart } from '../../lib/plan';

function parts(size: number, partSize: number): PlanPart[] {
  const out: PlanPart[] = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) {
    out.push({ partNumber: n, uploadUrl: 'http://x/', byteRange: { start, end: Math.min(start + partSize, size) - 1 } });
  }
  return out;
}

const signal = new AbortController().signal;

/** The bytes a pushed part would send (its body is a sync iterable over its pooled buffer). */
const bytesOf = (p: FilledPart): Buffer => Buffer.concat([...(p.body.slices(() => {}) as Iterable<Uint8Array>)]);

describe('PartAssembler', () => {
  it('cuts any chunking at the byteRanges, copying the bytes', async () => {
    const size = 1000;
    const source = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) % 256));
    for (const chunkSize of [1, 3, 99, 100, 101, 250, 1000]) {
      const pool = new BufferPool(100, 100);
      const got: FilledPart[] = [];
      const assembler = new PartAssembler(parts(size, 100), pool, (p) => got.push(p));
      for (let o = 0; o < size; o += chunkSize) {
        const chunk = Buffer.from(source.subarray(o, o + chunkSize));
        await assembler.write(chunk, signal);
        chunk.fill(0); // the caller may reuse its chunk: nothing of it may be kept
      }
      expect(got.map((p) => p.part.partNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(Buffer.concat(got.map(bytesOf)).equals(source)).toBe(true);
    }
  });

  it('gives the short last part a view of a pooled buffer', async () => {
    const pool = new BufferPool(40, 3);
    const got: FilledPart[] = [];
    const assembler = new PartAssembler(parts(90, 40), pool, (p) => got.push(p));
    await assembler.write(Buffer.alloc(90, 1), signal);
    expect(got.map((p) => p.body.length)).toEqual([40, 40, 10]);
    expect(got.map((p) => bytesOf(p).length)).toEqual([40, 40, 10]);
    // No buffer beyond the pool's three: the short last part is a view, not a new allocation.
    expect(pool.created).toBe(3);
  });

  it('hands each part over a turn of the event loop before filling the next, so its request can leave first', async () => {
    const pool = new BufferPool(10, 4);
    const order: string[] = [];
    const assembler = new PartAssembler(parts(30, 10), pool, (p) => {
      order.push(`part ${p.part.partNumber}`);
      setImmediate(() => order.push(`turn after ${p.part.partNumber}`));
    });
    await assembler.write(Buffer.alloc(30), signal);
    expect(order).toEqual(['part 1', 'turn after 1', 'part 2', 'turn after 2', 'part 3', 'turn after 3']);
  });

  it('waits for a released buffer when all are in use (backpressure)', async () => {
    const pool = new BufferPool(10, 2);
    const got: FilledPart[] = [];
    const assembler = new PartAssembler(parts(40, 10), pool, (p) => got.push(p));
    expect(assembler.write(Buffer.alloc(5), signal)).toBeUndefined(); // the hot path: no promise
    await assembler.write(Buffer.alloc(15), signal);
    const pending = assembler.write(Buffer.alloc(10), signal);
    expect(pending).toBeInstanceOf(Promise);
    let done = false;
    void pending!.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    got[0]!.release();
    await pending;
    expect(got.length).toBe(3);
    expect(pool.created).toBe(2);
  });

  it('a wait for a buffer ends when the upload is aborted', async () => {
    const controller = new AbortController();
    const pool = new BufferPool(10, 1);
    const assembler = new PartAssembler(parts(20, 10), pool, () => {});
    await assembler.write(Buffer.alloc(10), controller.signal);
    const pending = assembler.write(Buffer.alloc(10), controller.signal);
    controller.abort(new Error('gone'));
    await expect(pending).rejects.toThrow('gone');
  });
});
