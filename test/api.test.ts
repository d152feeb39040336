import { describe, expect, it } from 'vitest';
import { bodySlices } from '../lib/api';
import { PROGRESS_SLICE_BYTES } from '../lib/progress';

const S = PROGRESS_SLICE_BYTES;

describe('bodySlices', () => {
  it('yields every byte once, in order, and reports progress at each slice boundary', () => {
    const data = Buffer.from(Array.from({ length: 2 * S + 12_345 }, (_, i) => i % 251));
    const sent: number[] = [];
    const out = [...bodySlices(data, (n) => sent.push(n))];
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(sent).toEqual([S, 2 * S, data.length]);
  });

  it('ends with a slice of its own under the socket high-water mark (16 KiB), so undici never waits for a drain after the last byte', () => {
    for (const length of [8 * 1024 * 1024, S, S + 1, 5000, 4096, 100]) {
      const out = [...bodySlices(Buffer.alloc(length), () => {})];
      expect(out.reduce((n, b) => n + b.length, 0)).toBe(length);
      expect(out.at(-1)!.length).toBeLessThan(16 * 1024);
      for (const slice of out) expect(slice.length).toBeLessThanOrEqual(S);
    }
  });

  it('reports the whole body sent only once the last slice was taken', () => {
    const sent: number[] = [];
    const it = bodySlices(Buffer.alloc(S + 10_000), (n) => sent.push(n));
    it.next(); // first slice handed out
    it.next(); // first slice taken; the big part of the last slice handed out
    expect(sent).toEqual([S]);
    it.next(); // the tail handed out
    expect(sent).toEqual([S]);
    expect(it.next().done).toBe(true); // the tail taken
    expect(sent).toEqual([S, S + 10_000]);
  });
});
