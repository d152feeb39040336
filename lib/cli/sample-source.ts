import { Readable } from 'node:stream';

const CHUNK = 256 * 1024;

/**
 * `size` bytes of pseudo-random data, generated chunk by chunk as the upload pulls them: no temp
 * file, and memory stays at a chunk or two whatever the size. Random rather than zeros so a
 * shuffled or dropped part cannot go unnoticed in the sha256; seeded so a run can be reproduced.
 */
export function sampleSource(size: number, seed = 0x9e3779b9): Readable {
  let remaining = size;
  let x = seed >>> 0 || 1;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (remaining === 0) {
        this.push(null);
        return;
      }
      const length = Math.min(CHUNK, remaining);
      // A fresh buffer per chunk: a pushed chunk may sit in the stream's queue, so it is never reused.
      const words = new Uint32Array(Math.ceil(length / 4));
      for (let i = 0; i < words.length; i++) {
        // xorshift32: cheap, and plenty random for test data.
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      remaining -= length;
      this.push(Buffer.from(words.buffer, 0, length));
    },
  });
}
