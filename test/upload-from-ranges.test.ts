import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../lib/emulator';
import {
  EmptySourceError,
  InvalidOptionsError,
  type RangeSource,
  type RangedUploadOptions,
  SourceChangedError,
  SourceReadError,
  uploadFromRanges,
} from '../lib/index';
import { KiB, bytes, fastRetry, sha256 } from './helpers';

const API_KEY = 'sk_live_ranges_secret_55';
const P = 64 * KiB;
let emu: Emulator | undefined;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'upload-ranges-'));
});
afterEach(async () => {
  await emu?.close();
  emu = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function emulator(): Promise<Emulator> {
  emu = await startEmulator({ apiKey: API_KEY, partSize: P, hashing: 'sha256' });
  return emu;
}

function options(e: Emulator, extra: Partial<RangedUploadOptions> = {}): RangedUploadOptions {
  return { apiKey: API_KEY, connectionId: 'conn_test', baseUrl: e.url, ...fastRetry, ...extra };
}

interface Store extends RangeSource {
  reads: [number, number][];
  closed: number;
}

/**
 * A user's own store, in memory: each read gives its range in 10 KiB chunks, and `cutAt(start)`
 * decides after how many bytes a read starting there stops short (a dropped connection).
 */
function store(data: Buffer, cutAt: (start: number) => number | undefined = () => undefined): Store {
  const s: Store = {
    size: data.length,
    name: 'db://blobs/42',
    version: 'rev-7',
    filename: 'blob.mp4',
    reads: [],
    closed: 0,
    async *readRange(start, end) {
      s.reads.push([start, end]);
      const stop = cutAt(start);
      const last = stop === undefined ? end + 1 : Math.min(end + 1, start + stop);
      for (let at = start; at < last; at += 10 * KiB) yield data.subarray(at, Math.min(at + 10 * KiB, last));
    },
    close: async () => {
      s.closed++;
    },
  };
  return s;
}

describe('uploadFromRanges (a user’s own store)', () => {
  it('uploads intact, reading each part’s exact range once, and closes the source', async () => {
    const e = await emulator();
    const data = bytes(5 * P + 3, 51);
    const source = store(data);
    const result = await uploadFromRanges(source, options(e));
    expect(e.media(result.mediaUploadId)).toMatchObject({ filename: 'blob.mp4', contentType: 'video/mp4', sha256: sha256(data) });
    expect(source.reads.sort((a, b) => a[0] - b[0])).toEqual(Array.from({ length: 6 }, (_, i) => [i * P, Math.min((i + 1) * P, data.length) - 1]));
    expect(result.download).toEqual({ mode: 'ranged', bytes: data.length, requests: 6, rereads: 0 });
    expect(source.closed).toBe(1);
  });

  it('a read that stops short is continued from where it stopped, costing only the missing bytes', async () => {
    const e = await emulator();
    const data = bytes(4 * P, 52);
    const cut = new Set([P]);
    const source = store(data, (start) => (cut.delete(start) ? 1000 : undefined));
    const result = await uploadFromRanges(source, options(e, { concurrency: 1 }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(source.reads).toContainEqual([P + 1000, 2 * P - 1]);
    expect(result.download).toEqual({ mode: 'ranged', bytes: data.length, requests: 5, rereads: 1 });
  });

  it('a source that never delivers a range fails with SourceReadError after rangeRetries; its own typed errors stop at once', async () => {
    const e = await emulator();
    const data = bytes(3 * P, 53);
    const dead = store(data, (start) => (start === P ? 0 : undefined));
    const error = await uploadFromRanges(dead, options(e, { rangeRetries: 3 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceReadError);
    expect(error).toMatchObject({ source: 'db://blobs/42', start: P, end: 2 * P - 1, attempts: 4 });
    expect(dead.closed).toBe(1);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);

    const changing: RangeSource = {
      ...store(data),
      readRange: () => {
        throw new SourceChangedError('db://blobs/42', { size: data.length, version: 'rev-7' }, { size: data.length, version: 'rev-8' });
      },
    };
    let calls = 0;
    const counted: RangeSource = { ...changing, readRange: (s, end, signal) => (calls++, changing.readRange(s, end, signal)) };
    await expect(uploadFromRanges(counted, options(e))).rejects.toBeInstanceOf(SourceChangedError);
    expect(calls).toBeLessThanOrEqual(4);
  });

  it('a source that sends more than the range asked for is refused, typed', async () => {
    const e = await emulator();
    const data = bytes(2 * P, 54);
    const greedy: RangeSource = { ...store(data), readRange: async (start) => data.subarray(start, start + P + 1) };
    await expect(uploadFromRanges(greedy, options(e))).rejects.toMatchObject({ name: 'SourceReadError', message: expect.stringContaining('more bytes than the range') });
  });

  it('a stalled read is given up after rangeTimeout and read again', async () => {
    const e = await emulator();
    const data = bytes(2 * P, 55);
    let stalled = false;
    const base = store(data);
    const source: RangeSource = {
      ...base,
      async *readRange(start, end, signal) {
        if (!stalled && start === P) {
          stalled = true;
          yield data.subarray(start, start + 100);
          // Nothing more until the reader gives up on this read.
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        }
        yield* base.readRange(start, end, signal) as AsyncIterable<Uint8Array>;
      },
    };
    const result = await uploadFromRanges(source, options(e, { rangeTimeout: 100 }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(result.download.rereads).toBe(1);
  });

  it('refuses a malformed source or an empty one before any request', async () => {
    const e = await emulator();
    await expect(uploadFromRanges({ size: 10, name: '', version: 'v', readRange: async () => new Uint8Array() }, options(e))).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(uploadFromRanges({ size: 1.5, name: 'n', version: 'v', readRange: async () => new Uint8Array() }, options(e))).rejects.toThrow(/source\.size/);
    await expect(uploadFromRanges({} as RangeSource, options(e))).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(uploadFromRanges(store(Buffer.alloc(0)), options(e))).rejects.toBeInstanceOf(EmptySourceError);
    await expect(uploadFromRanges(store(bytes(10, 1)), { ...options(e), rangeTimeout: -5 })).rejects.toThrow(/rangeTimeout/);
    expect(e.requests).toHaveLength(0);
  });

  it('resumes by name and version: a new version starts over', async () => {
    const e = await emulator();
    const data = bytes(6 * P, 56);
    const controller = new AbortController();
    await uploadFromRanges(store(data), {
      ...options(e, { concurrency: 1, resume: { dir } }),
      signal: controller.signal,
      onProgress: (p) => void (p.partsCompleted === 3 && controller.abort()),
    }).catch(() => undefined);
    const again = store(data);
    const result = await uploadFromRanges(again, options(e, { resume: { dir } }));
    expect(again.reads.length).toBe(3);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
  });
});
