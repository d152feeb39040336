import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { fillXorshift32, pseudoRandomBytes } from '../lib/emulator/prng';

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes, so failures reproduce (the package's one xorshift32). */
export function bytes(size: number, seed = 1): Buffer {
  return pseudoRandomBytes(size, seed);
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A pull-based source over `data`, in chunks of `chunkSize` (or sizes from a function). Each
 * chunk is a fresh copy, and `pulled` counts the bytes handed out, to check backpressure.
 */
export function source(data: Buffer, chunkSize: number | ((i: number) => number)): Readable & { pulled: number } {
  let offset = 0;
  let i = 0;
  const stream = new Readable({
    highWaterMark: typeof chunkSize === 'number' ? chunkSize : 16 * KiB,
    read() {
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      const n = Math.max(1, typeof chunkSize === 'number' ? chunkSize : chunkSize(i++));
      const chunk = Buffer.from(data.subarray(offset, offset + n));
      offset += chunk.length;
      (stream as Readable & { pulled: number }).pulled = offset;
      this.push(chunk);
    },
  }) as Readable & { pulled: number };
  stream.pulled = 0;
  return stream;
}

/** A source that yields `data` then fails with `error`. */
export function failingSource(data: Buffer, error: Error): Readable {
  return Readable.from(
    (async function* () {
      if (data.length > 0) yield data;
      await new Promise((r) => setTimeout(r, 20));
      throw error;
    })(),
    { objectMode: false },
  );
}

/** Milliseconds `promise` takes to settle, and how. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error?: unknown; value?: T }> {
  const started = Date.now();
  try {
    const value = await promise;
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

export const fastRetry = { retryBaseDelay: 5, retryMaxDelay: 20 } as const;

/**
 * `size` pseudo-random bytes generated chunk by chunk (nothing held), hashed as handed out: for
 * uploads too big to keep a copy of in the test.
 */
export function generatedSource(
  size: number,
  seed: number,
  chunkSize = 64 * KiB,
  /** Recycle this many chunk buffers, as some real sources do; 0 allocates a fresh one per chunk. */
  ring = 0,
): Readable & { sha256: () => string } {
  const hash = createHash('sha256');
  const buffers = Array.from({ length: ring }, () => Buffer.allocUnsafe(chunkSize));
  let turn = 0;
  let left = size;
  let state = seed;
  const stream = new Readable({
    highWaterMark: chunkSize,
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(chunkSize, left);
      const chunk = ring > 0 ? buffers[turn++ % ring]!.subarray(0, n) : Buffer.allocUnsafe(n);
      state = fillXorshift32(chunk, state);
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  }) as Readable & { sha256: () => string };
  stream.sha256 = () => hash.digest('hex');
  return stream;
}

/**
 * Samples the growth of live Buffer memory (process.memoryUsage().arrayBuffers) over a
 * baseline, collecting garbage before each sample when --expose-gc is on (vitest.config.ts sets
 * it), so dead chunks waiting for GC do not count as retained.
 */
export function liveMemorySampler(everyMs = 10): { sample: () => void; stop: () => { peakExternal: number } } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseline = process.memoryUsage().arrayBuffers;
  let peakExternal = 0;
  const sample = () => {
    gc?.();
    peakExternal = Math.max(peakExternal, process.memoryUsage().arrayBuffers - baseline);
  };
  const timer = setInterval(sample, everyMs);
  return {
    sample,
    stop: () => {
      clearInterval(timer);
      sample();
      return { peakExternal };
    },
  };
}
