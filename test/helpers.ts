import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterEach, vi } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../lib/emulator';
import { fillXorshift32, pseudoRandomBytes } from '../lib/emulator/prng';
import type { OFAuthUploadOptions } from '../lib/index';
import { spareBuffers } from '../lib/parts/spare-buffers';

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
export function failingSource(
  data: Buffer,
  error: Error,
  /** Settles when the source should fail; by default 20 ms after `data` was taken. */
  failWhen: () => Promise<unknown> = () => new Promise((r) => setTimeout(r, 20)),
): Readable {
  return Readable.from(
    (async function* () {
      if (data.length > 0) yield data;
      await failWhen();
      throw error;
    })(),
    { objectMode: false },
  );
}

/** Resolves once `condition()` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
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

/**
 * True where a slow check that proves one thing once (a benchmark's smoke run, a 256 MiB bar, a
 * page run as written) is skipped: in CI (.ci/run sets OFAUTH_CI=1 and runs every Node major) on
 * all majors but the newest. Locally, everything runs.
 */
export const SKIP_BUT_ONCE_IN_CI = process.env.OFAUTH_CI === '1' && Number(process.versions.node.split('.')[0]) < 24;

export const fastRetry = { retryBaseDelay: 5, retryMaxDelay: 20 } as const;

/**
 * Options for tests that count requests or connections on a near link: the uploader allows one
 * request more once init and the answers both took 50 ms or more (lib/parts/answer-waits.ts), so
 * a stall of about 45 ms during init, on a loaded CI machine, makes a near link look far. Each
 * attempt asserts the exact bound; a rule that admitted too many fails every attempt.
 */
export const NEAR_LINK_TIMING = { retry: 2 } as const;

/**
 * `size` pseudo-random bytes generated chunk by chunk (nothing held), hashed as handed out: for
 * uploads too big to keep a copy of in the test. Every chunk is a fresh buffer.
 */
export function generatedSource(size: number, seed: number, chunkSize = 64 * KiB): Readable & { sha256: () => string } {
  const hash = createHash('sha256');
  let left = size;
  let state = seed;
  const stream = new Readable({
    highWaterMark: chunkSize,
    read() {
      if (left === 0) return void this.push(null);
      const chunk = Buffer.allocUnsafe(Math.min(chunkSize, left));
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
 * Writes the bytes `generatedSource(size, seed, chunkSize)` yields into `dest` and ends it, from a
 * ring of `ring` chunk buffers, as sources that recycle their buffers do. A buffer is refilled
 * only once the write callback of the chunk it held has run: the moment the Writable contract
 * lets a source reuse it, whatever the consumer's highWaterMark or Node's default for it. So if
 * the consumer kept a view of a chunk past its callback, the bytes under that view would change.
 * Resolves with the sha256 of the bytes written once `dest` has finished; rejects with its error.
 */
export async function writeRecycling(dest: Writable, size: number, seed: number, chunkSize: number, ring: number): Promise<string> {
  const done = finished(dest);
  // Keep `done` from being an unhandled rejection while the loop below still runs.
  done.catch(() => undefined);
  const hash = createHash('sha256');
  const free = Array.from({ length: ring }, () => Buffer.allocUnsafe(chunkSize));
  let wake: (() => void) | undefined;
  dest.once('close', () => wake?.());
  let state = seed;
  for (let left = size; left > 0 && !dest.destroyed; ) {
    while (free.length === 0 && !dest.destroyed) await new Promise<void>((resolve) => (wake = resolve));
    const buffer = free.pop();
    if (buffer === undefined) break;
    const chunk = buffer.subarray(0, Math.min(chunkSize, left));
    state = fillXorshift32(chunk, state);
    left -= chunk.length;
    hash.update(chunk);
    dest.write(chunk, () => {
      // The consumer has let go of the chunk (or failed, which also releases it).
      free.push(buffer);
      wake?.();
    });
  }
  if (!dest.destroyed) dest.end();
  await done;
  return hash.digest('hex');
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

/**
 * The emulator a test file uploads to: `start(options)` starts one with the file's defaults (its
 * own API key, a small part size), and every emulator started is closed after each test.
 * `uploadOptions` builds the stream's options for it, without `size` when none is given.
 */
export function emulatorFixture(defaults: EmulatorOptions & { apiKey: string }) {
  let started: Emulator[] = [];
  afterEach(async () => {
    const closing = started;
    started = [];
    await Promise.all(closing.map((e) => e.close()));
  });
  return {
    start: async (options: EmulatorOptions = {}): Promise<Emulator> => {
      const emulator = await startEmulator({ ...defaults, ...options });
      started.push(emulator);
      return emulator;
    },
    uploadOptions: (e: Pick<Emulator, 'url'>, size: number | undefined, extra: Partial<OFAuthUploadOptions> = {}): OFAuthUploadOptions => ({
      apiKey: defaults.apiKey,
      connectionId: 'conn_test',
      baseUrl: e.url,
      filename: 'clip.mp4',
      contentType: 'video/mp4',
      ...(size === undefined ? {} : { size }),
      ...fastRetry,
      ...extra,
    }),
  };
}

/** Empties the process's spare part buffers of `size` bytes: spares left by earlier tests would hide what a test looks for. */
export function drainSpares(size: number): void {
  for (let i = 0; i < 1000 && spareBuffers.take(size) !== undefined; i++);
}

/** What `watchingBuffers` shows its body. */
export interface BufferWatch {
  /** The `size`-byte buffers `Buffer.allocUnsafeSlow` returned since the start or `clear()`. */
  allocated: () => Buffer[];
  clear: () => void;
}

/**
 * Runs `body` with `Buffer.allocUnsafeSlow` watched and no spare of `size` bytes left by earlier
 * tests. A test that holds the buffers `allocated()` returns keeps them from being collected.
 */
export async function watchingBuffers<T>(size: number, body: (watch: BufferWatch) => Promise<T>): Promise<T> {
  drainSpares(size);
  const allocate = vi.spyOn(Buffer, 'allocUnsafeSlow');
  try {
    return await body({
      allocated: () => allocate.mock.results.map((r) => r.value as Buffer).filter((b) => b.length === size),
      clear: () => allocate.mockClear(),
    });
  } finally {
    allocate.mockRestore();
  }
}

/**
 * Paths of this process's open files under `folder` (Linux: /proc/self/fd); every open path with
 * the default ''. An fd closed between listing and reading is skipped.
 */
export function openFilesIn(folder = ''): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(folder) ? [target] : [];
    } catch {
      return [];
    }
  });
}
