import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

type Lib = typeof import('../lib/index');
const root = join(__dirname, '..');
let esm: Lib;
let cjs: Lib;

beforeAll(async () => {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-build.mjs')], { cwd: root, stdio: 'inherit' });
  esm = (await import(join(root, 'dist/index.js'))) as Lib;
  cjs = createRequire(import.meta.url)(join(root, 'dist/index.cjs')) as Lib;
}, 120_000);

describe('the ESM and CJS builds loaded in one process', () => {
  it('are really two copies of the classes', () => {
    expect(esm.PlanError).not.toBe(cjs.PlanError);
  });

  it('instanceof holds across them, both ways, and stays precise', () => {
    const fromCjs = new cjs.PlanError(['gap']);
    const fromEsm = new esm.SizeMismatchError(1, 2);
    expect(fromCjs).toBeInstanceOf(esm.PlanError);
    expect(fromCjs).toBeInstanceOf(esm.OFAuthUploadError);
    expect(fromCjs).not.toBeInstanceOf(esm.SizeMismatchError);
    expect(fromEsm).toBeInstanceOf(cjs.SizeMismatchError);
    expect(fromEsm).toBeInstanceOf(cjs.OFAuthUploadError);
    expect(new cjs.InvalidResponseError({ status: 200, method: 'PUT', path: '/', bodyExcerpt: '', attempts: 1 }, 'x')).toBeInstanceOf(esm.OFAuthApiError);
  });

  it('a subclass prototype of one build is an instance of the ancestors of the other, both ways, and stays precise', () => {
    for (const [a, b] of [[esm, cjs], [cjs, esm]] as const) {
      for (const subclass of [a.OFAuthApiError, a.InvalidResponseError, a.NetworkError, a.TimeoutError, a.PlanError, a.SizeMismatchError, a.UploadExpiredError, a.InvalidOptionsError]) {
        expect(subclass.prototype instanceof b.OFAuthUploadError).toBe(true);
      }
      expect(a.InvalidResponseError.prototype instanceof b.OFAuthApiError).toBe(true);
      expect(a.TimeoutError.prototype instanceof b.NetworkError).toBe(true);
      expect(a.PlanError.prototype instanceof b.OFAuthApiError).toBe(false);
      expect(a.NetworkError.prototype instanceof b.TimeoutError).toBe(false);
      expect(a.AbortError.prototype instanceof b.OFAuthUploadError).toBe(false);
      // Instances agree with the prototypes.
      expect(new a.TimeoutError({ method: 'PUT', path: '/', attempts: 1, reason: 'r' })).toBeInstanceOf(b.NetworkError);
      expect(new a.AbortError()).toBeInstanceOf(b.AbortError);
    }
  });

  it('an options error thrown by the CJS stream is recognised by the ESM classes', () => {
    let caught: unknown;
    try {
      new cjs.OFAuthUploadStream({ apiKey: 'k', connectionId: 'c', filename: 'f', contentType: 't', size: 0 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(esm.InvalidOptionsError);
    expect(caught).toBeInstanceOf(esm.OFAuthUploadError);
    expect(caught).toBeInstanceOf(TypeError);
  });
});

describe('the rate limit across the two builds', () => {
  it('an upload through one build and the next through the other share their connection\'s pacer', async () => {
    const { startEmulator } = (await import(join(root, 'dist/emulator.js'))) as typeof import('../lib/emulator');
    // A token a second, two in the bucket: a one-part upload (init, its PUT) takes both.
    const emulator = await startEmulator({ apiKey: 'k_dual', partSize: 64 * 1024, rateLimit: { perMinute: 60, burst: 2 } });
    try {
      const data = new Uint8Array(32 * 1024).fill(7);
      const options = { apiKey: 'k_dual', connectionId: `conn_dual_${Date.now()}`, baseUrl: emulator.url, filename: 'a.mp4', contentType: 'video/mp4' };
      await esm.uploadToVault(data, options);
      const reasons: string[] = [];
      await cjs.uploadToVault(data, { ...options, onRateLimit: (event) => reasons.push(event.reason) });
      // The CJS build knew the bucket was empty: it waited its turn, and met no 429.
      expect(reasons[0]).toBe('paced');
      expect(emulator.stats.rateLimited).toBe(0);
    } finally {
      await emulator.close();
    }
  });
});


describe('diagnostics channels from both builds', () => {
  it('publish on the same channels: one subscriber hears uploads of the ESM and of the CJS build', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
    const { startEmulator } = (await import(join(root, 'dist/emulator.js'))) as typeof import('../lib/emulator');
    const emu = await startEmulator({ apiKey: 'k_dual', partSize: 64 * 1024 });
    const heard: string[] = [];
    const onStart = (message: unknown) => heard.push((message as { filename: string }).filename);
    subscribe('tracing:ofauth-upload-stream:upload:start', onStart);
    try {
      const options = { apiKey: 'k_dual', connectionId: 'c', baseUrl: emu.url, contentType: 'video/mp4' };
      await esm.uploadToVault(Buffer.alloc(1000, 1), { ...options, filename: 'esm.mp4' });
      await cjs.uploadToVault(Buffer.alloc(1000, 2), { ...options, filename: 'cjs.mp4' });
      expect(heard).toEqual(['esm.mp4', 'cjs.mp4']);
    } finally {
      unsubscribe('tracing:ofauth-upload-stream:upload:start', onStart);
      await emu.close();
    }
  });
});
