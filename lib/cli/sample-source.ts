import { Readable } from 'node:stream';
import { fillXorshift32 } from '../emulator/prng';

const CHUNK = 256 * 1024;

/**
 * `size` bytes of pseudo-random data, generated chunk by chunk as the upload pulls them: no temp
 * file, and memory stays at a chunk or two whatever the size. Random rather than zeros so a
 * shuffled or dropped part cannot go unnoticed in the sha256; seeded so a run can be reproduced.
 */
export function sampleSource(size: number, seed = 0x9e3779b9): Readable {
  let remaining = size;
  let state = seed;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (remaining === 0) {
        this.push(null);
        return;
      }
      // A fresh buffer per chunk: a pushed chunk may sit in the stream's queue, so it is never reused.
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK, remaining));
      state = fillXorshift32(chunk, state);
      remaining -= chunk.length;
      this.push(chunk);
    },
  });
}
