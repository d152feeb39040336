import { describe, expect, it } from 'vitest';
import { bufferBody, rangeBody } from '../../lib/parts/part-body';
import { BODY_SLICE_BYTES } from '../../lib/progress';
import type { PartSource } from '../../lib/sources/part-source';

const S = BODY_SLICE_BYTES;
const syncSlices = (data: Uint8Array, onSent: (n: number) => void) => bufferBody(data).slices(onSent) as Generator<Uint8Array>;

describe('bufferBody', () => {
  it('yields every byte once, in order, and reports progress at each slice boundary', () => {
    const data = Buffer.from(Array.from({ length: 2 * S + 12_345 }, (_, i) => i % 251));
    const sent: number[] = [];
    const out = [...syncSlices(data, (n) => sent.push(n))];
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(sent).toEqual([S, 2 * S, data.length]);
  });

  it('ends with a slice of its own under the socket high-water mark (16 KiB), so undici never waits for a drain after the last byte', () => {
    for (const length of [8 * 1024 * 1024, S, S + 1, 5000, 4096, 100]) {
      const out = [...syncSlices(Buffer.alloc(length), () => {})];
      expect(out.reduce((n, b) => n + b.length, 0)).toBe(length);
      expect(out.at(-1)!.length).toBeLessThan(16 * 1024);
      for (const slice of out) expect(slice.length).toBeLessThanOrEqual(S);
    }
  });

  it('reports the whole body sent only once the last slice was taken', () => {
    const sent: number[] = [];
    const it = syncSlices(Buffer.alloc(S + 10_000), (n) => sent.push(n));
    it.next(); // first slice handed out
    it.next(); // first slice taken; the big part of the last slice handed out
    expect(sent).toEqual([S]);
    it.next(); // the tail handed out
    expect(sent).toEqual([S]);
    expect(it.next().done).toBe(true); // the tail taken
    expect(sent).toEqual([S, S + 10_000]);
  });
});

describe('rangeBody', () => {
  const file = Buffer.from(Array.from({ length: 3 * S + 777 }, (_, i) => (i * 13) % 256));
  const source: PartSource & { reads: number } = {
    size: file.length,
    reads: 0,
    async read(into, position) {
      source.reads++;
      into.set(file.subarray(position, position + into.length));
    },
    close: async () => undefined,
  };

  it('reads its byte range again for every attempt, in slices with a small tail', async () => {
    const body = rangeBody(source, 100, 2 * S + 50);
    for (let attempt = 0; attempt < 2; attempt++) {
      const out: Uint8Array[] = [];
      for await (const slice of body.slices(() => {})) out.push(Buffer.from(slice));
      expect(Buffer.concat(out).equals(file.subarray(100, 100 + 2 * S + 50))).toBe(true);
      expect(out.at(-1)!.length).toBeLessThan(16 * 1024);
    }
    expect(source.reads).toBe(6);
  });

  it('a body that finalizes verifies the source before its last slice, and stops if it changed', async () => {
    const changed = Object.assign(new Error('changed'), { code: 'ERR_X' });
    const checked: PartSource = { ...source, verify: async () => { throw changed; } };
    const taken: number[] = [];
    const run = async () => {
      for await (const slice of rangeBody(checked, 0, 2 * S, true).slices(() => {})) taken.push(slice.length);
    };
    await expect(run()).rejects.toBe(changed);
    expect(taken).toEqual([S]);
  });
});
