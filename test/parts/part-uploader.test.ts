import { describe, expect, it } from 'vitest';
import { type FilledPart, bufferBody } from '../../lib/parts/part-body';
import { PartUploader } from '../../lib/parts/part-uploader';

const part = (n: number): FilledPart => ({
  part: { partNumber: n, uploadUrl: 'http://x/', byteRange: { start: n, end: n } },
  body: bufferBody(Buffer.alloc(1)),
  release: () => {},
});
const signal = new AbortController().signal;

describe('PartUploader', () => {
  it('keeps at most `concurrency` sends in flight and reports each part once', async () => {
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    const uploader = new PartUploader<number>({
      concurrency: 2,
      signal,
      send: async (f) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return f.part.partNumber;
      },
      onDone: (_f, n) => done.push(n),
      onError: () => {},
    });
    for (let n = 1; n <= 6; n++) uploader.submit(part(n));
    await uploader.idle();
    expect(peak).toBe(2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('after a failure starts nothing more, reports the first error once, and idle() rejects with it', async () => {
    const errors: unknown[] = [];
    const started: number[] = [];
    const boom = new Error('part 2 failed');
    const uploader = new PartUploader<void>({
      concurrency: 1,
      signal,
      send: async (f) => {
        started.push(f.part.partNumber);
        if (f.part.partNumber === 2) throw boom;
      },
      onDone: () => {},
      onError: (e) => errors.push(e),
    });
    for (let n = 1; n <= 4; n++) uploader.submit(part(n));
    await expect(uploader.idle()).rejects.toBe(boom);
    expect(started).toEqual([1, 2]);
    expect(errors).toEqual([boom]);
    await uploader.settled();
  });

  it('a throwing onDone fails the upload instead of escaping as an unhandled rejection', async () => {
    const errors: unknown[] = [];
    const oops = new Error('listener threw');
    const uploader = new PartUploader<void>({
      concurrency: 1,
      signal,
      send: async () => {},
      onDone: () => {
        throw oops;
      },
      onError: (e) => errors.push(e),
    });
    uploader.submit(part(1));
    await expect(uploader.idle()).rejects.toBe(oops);
    expect(errors).toEqual([oops]);
  });
});
