import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../lib/emulator';
import {
  AbortError,
  EmptySourceError,
  OFAuthApiError,
  OFAuthUploadStream,
  type OFAuthUploadOptions,
  SpoolError,
  type SpoolProgress,
  uploadToVault,
} from '../lib/index';
import { KiB, MiB, bytes, emulatorFixture, openFilesIn, sha256, source } from './helpers';

const API_KEY = 'sk_live_spool_secret_5';
const P = 64 * KiB;
const M = 100 * KiB; // spool.memory in these tests
const fixture = emulatorFixture({ apiKey: API_KEY, partSize: P });
const emulator = fixture.start;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spooled-upload-'));
});

afterEach(() => {
  // Whatever happened, the spool is gone: nothing may be left in its dir, nor open.
  expect(readdirSync(dir)).toEqual([]);
  expect(openFilesIn(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

/** Options without `size`: the source is spooled in `dir`. */
function options(e: Pick<Emulator, 'url'>, extra: Partial<OFAuthUploadOptions> = {}): OFAuthUploadOptions {
  return fixture.uploadOptions(e, undefined, { spool: { memory: M, dir }, ...extra });
}

const puts = (e: Emulator) => e.requests.filter((r) => r.route === 'part' || r.route === 'single');

describe('unknown size: spooled, then uploaded from the spool', () => {
  const sizes = [1, M - 1, M, M + 1, 3 * P, 3 * P + 7, 5 * P + 1];
  for (const mode of ['multipart', 'planless', 'auto'] as const) {
    for (const size of sizes) {
      it(`${mode}: ${size} bytes arrive intact, result.size = ${size}`, async () => {
        const e = await emulator({ mode });
        const data = bytes(size, size);
        const spooled: SpoolProgress[] = [];
        const upload = new OFAuthUploadStream(options(e));
        upload.on('spool', (p) => spooled.push(p));
        await pipeline(source(data, 10_000), upload);
        expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
        expect(upload.result!.size).toBe(size);
        expect(e.media(upload.result!.mediaUploadId)?.size).toBe(size);
        expect(spooled.at(-1)).toEqual({ bytes: size, onDisk: size > M });
      });
    }
  }

  it('uploadToVault given a Buffer and no size sends it with its length: never spooled', async () => {
    const e = await emulator({ mode: 'multipart' });
    const data = bytes(3 * P + 5, 14);
    // A spool would refuse this source (maxBytes); a Buffer's size is known, so none is made.
    const result = await uploadToVault(data, options(e, { spool: { memory: 0, dir, maxBytes: P } }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(result.size).toBe(data.length);
  });

  it('nothing is sent before the source ends', async () => {
    const e = await emulator({ mode: 'multipart' });
    const data = bytes(3 * P, 9);
    let endedAt = 0;
    const src = source(data, 16 * KiB);
    src.on('end', () => (endedAt = Date.now()));
    await uploadToVault(src, options(e));
    expect(e.requests[0]!.route).toBe('init');
    expect(e.requests[0]!.startedAt).toBeGreaterThanOrEqual(endedAt);
  });

  it('a failed part is read again from the spool and retried', async () => {
    const e = await emulator({
      mode: 'multipart',
      faults: [
        { route: 'part', partNumber: 2, nth: 1, action: { type: 'status', status: 500 } },
        { route: 'part', partNumber: 3, nth: 1, action: { type: 'reset', afterBytes: 1000 } },
      ],
    });
    const data = bytes(4 * P + 3, 10);
    const result = await uploadToVault(source(data, 8 * KiB), options(e));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(puts(e).filter((r) => r.partNumber === 2)).toHaveLength(2);
    expect(puts(e).filter((r) => r.partNumber === 3)).toHaveLength(2);
  });

  it('a plan-less PUT above planlessRetryBuffer that fails mid-body is retried whole from the spool', async () => {
    const e = await emulator({ mode: 'planless', faults: [{ route: 'single', nth: 1, action: { type: 'reset', afterBytes: 3 * MiB } }] });
    const data = bytes(9 * MiB, 11);
    const result = await uploadToVault(source(data, 64 * KiB), options(e, { spool: { memory: 1 * MiB, dir } }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(puts(e)).toHaveLength(2);
    expect(puts(e)[1]!.bytesReceived).toBe(9 * MiB);
  });

  it('parts larger than maxBufferMemory are streamed from the spool instead of refused', async () => {
    const e = await emulator({ mode: 'multipart', partSize: 2 * MiB, faults: [{ route: 'part', partNumber: 1, nth: 1, action: { type: 'reset', afterBytes: MiB } }] });
    const data = bytes(5 * MiB, 12);
    const result = await uploadToVault(source(data, 64 * KiB), options(e, { spool: { memory: MiB, dir }, maxBufferMemory: MiB }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(puts(e).filter((r) => r.partNumber === 1)).toHaveLength(2);
  });
});

describe('unknown size: failures open no session and leave no file', () => {
  it('a source larger than spool.maxBytes: SpoolError(limit), zero requests', async () => {
    const e = await emulator();
    const error = await uploadToVault(source(bytes(300 * KiB, 1), 16 * KiB), options(e, { spool: { memory: M, dir, maxBytes: 200 * KiB } })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SpoolError);
    expect(error).toMatchObject({ code: 'ERR_OFAUTH_SPOOL', reason: 'limit', limit: 200 * KiB });
    expect(e.requests).toHaveLength(0);
  });

  it('a spool dir the system refuses: SpoolError with its code, zero requests', async () => {
    const e = await emulator();
    const error = await uploadToVault(source(bytes(300 * KiB, 2), 16 * KiB), options(e, { spool: { memory: M, dir: '/sys' } })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SpoolError);
    expect(error).toMatchObject({ reason: 'disk', systemCode: 'EACCES' });
    expect(e.requests).toHaveLength(0);
  });

  it('an empty source: EmptySourceError, zero requests', async () => {
    const e = await emulator();
    const error = await uploadToVault(Readable.from([], { objectMode: false }), options(e)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EmptySourceError);
    expect(e.requests).toHaveLength(0);
  });

  it('an abort while spooling stops at once and opens no session', async () => {
    const e = await emulator();
    const controller = new AbortController();
    const endless = new Readable({ read() { this.push(Buffer.alloc(64 * KiB, 1)); } });
    const upload = new OFAuthUploadStream(options(e, { signal: controller.signal }));
    upload.on('spool', ({ bytes: n }) => n > 2 * MiB && controller.abort());
    const error = await pipeline(endless, upload).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AbortError);
    expect(e.requests).toHaveLength(0);
  });

  it('destroy() while spooling leaves no file', async () => {
    const e = await emulator();
    const upload = new OFAuthUploadStream(options(e));
    const closed = new Promise((resolve) => upload.on('close', resolve));
    upload.write(bytes(2 * M, 3));
    upload.destroy();
    await closed;
    expect(e.requests).toHaveLength(0);
  });

  it('a failed upload after spooling leaves no file', async () => {
    const e = await emulator({ faults: [{ route: 'part', action: { type: 'status', status: 403 } }] });
    const error = await uploadToVault(source(bytes(5 * P, 4), 16 * KiB), options(e)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OFAuthApiError);
  });

  it('a process killed with SIGKILL while spooling leaves no file', async () => {
    const child = fork(join(__dirname, 'fixtures/spool-forever.mjs'), [dir, 'http://127.0.0.1:9'], { stdio: 'ignore' });
    const spooling = await new Promise<{ bytes: number }>((resolve, reject) => {
      child.once('message', resolve as (m: unknown) => void);
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    expect(spooling.bytes).toBeGreaterThan(4 * MiB);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // afterEach checks the dir is empty.
  });
});

describe('unknown size: memory', () => {
  it('spooling 1 GiB holds no more than spool.memory + highWaterMark + one write', async () => {
    const SIZE = 1024 * MiB;
    const CHUNK = 64 * KiB;
    const memory = 8 * MiB;
    // Never reached: the stream is destroyed once the source is spooled.
    const upload = new OFAuthUploadStream(options({ url: 'http://127.0.0.1:9' }, { spool: { memory, dir }, highWaterMark: CHUNK }));
    let spooled = 0;
    upload.on('spool', ({ bytes: n }) => (spooled = n));
    upload.on('error', () => {});
    // One chunk buffer, refilled only once the stream's write callback let go of it: no garbage,
    // so the samples show what the spool itself holds.
    const chunk = Buffer.alloc(CHUNK);
    // No garbage is made here, so the interval samples need no GC (a forced GC every few ms
    // would starve the loop under load); the explicit samples below collect first.
    const gc = (globalThis as { gc?: () => void }).gc;
    // Backing stores of collected buffers are freed a little after a GC (other test files ran in
    // this worker before): settle them, or the baseline would count memory about to go.
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 20));
    }
    const baseline = process.memoryUsage().arrayBuffers;
    let peakExternal = 0;
    const sample = () => (peakExternal = Math.max(peakExternal, process.memoryUsage().arrayBuffers - baseline));
    const timer = setInterval(sample, 10);
    const started = Date.now();
    for (let sent = 0; sent < SIZE; sent += CHUNK) {
      chunk.fill(sent & 0xff);
      // Sampled too where memory holds the most: just before the spill, then every 64 MiB.
      if (sent === memory - CHUNK || sent % (64 * MiB) === 0) {
        gc?.();
        sample();
      }
      await new Promise<void>((resolve, reject) => upload.write(chunk, (error) => (error ? reject(error) : resolve())));
    }
    const ms = Date.now() - started;
    clearInterval(timer);
    sample();
    upload.destroy();
    await new Promise((resolve) => upload.on('close', resolve));
    expect(spooled).toBe(SIZE);
    console.log(`[spool] 1 GiB spooled in ${ms} ms: peak live Buffer memory +${(peakExternal / MiB).toFixed(1)} MiB (spool.memory ${memory / MiB} MiB)`);
    // spool.memory + the stream's highWaterMark + the chunk being written, and a little slack.
    expect(peakExternal).toBeGreaterThan(memory / 2); // it was sampled while memory held the start
    expect(peakExternal).toBeLessThanOrEqual(memory + 2 * CHUNK + 512 * KiB);
  }, 60_000);
});
