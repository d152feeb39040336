import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../lib/emulator';
import { NetworkError, OFAuthUploadError, TimeoutError, UploadExpiredError, uploadToVault } from '../lib/index';
import { KiB, bytes, fastRetry, sha256, source, timed } from './helpers';

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function emulator(options: EmulatorOptions): Promise<Emulator> {
  emu = await startEmulator({ partSize: 64 * KiB, mode: 'multipart', ...options });
  return emu;
}

const opts = (e: Emulator, size: number, extra = {}) => ({
  apiKey: e.apiKey,
  connectionId: 'c',
  baseUrl: e.url,
  filename: 'f.bin',
  contentType: 'application/octet-stream',
  size,
  ...fastRetry,
  headersTimeout: 300,
  bodyTimeout: 300,
  ...extra,
});

describe('timeouts', () => {
  it('a server that never answers is cut off by headersTimeout, retried, and the upload recovers', async () => {
    const e = await emulator({ faults: [{ route: 'part', partNumber: 2, nth: 1, action: { type: 'hang' } }] });
    const data = bytes(3 * 64 * KiB, 1);
    const result = await uploadToVault(source(data, 64 * KiB), opts(e, data.length));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(e.requests.filter((r) => r.route === 'part' && r.partNumber === 2)).toHaveLength(2);
  });

  it('a server that stalls mid-answer is cut off by bodyTimeout and retried', async () => {
    const e = await emulator({ faults: [{ route: 'complete', nth: 1, action: { type: 'stallBody' } }] });
    const data = bytes(2 * 64 * KiB, 2);
    const result = await uploadToVault(source(data, 64 * KiB), opts(e, data.length));
    expect(e.media(result.mediaUploadId)?.completed).toBe(true);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(2);
  });

  it('when it never answers, the upload fails with a TimeoutError after its retries', async () => {
    const e = await emulator({ faults: [{ route: 'part', action: { type: 'hang' } }] });
    const data = bytes(1000, 3);
    const { error, ms } = await timed(uploadToVault(data, opts(e, data.length, { retries: 2 })));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toBeInstanceOf(OFAuthUploadError);
    expect((error as TimeoutError).code).toBe('ERR_OFAUTH_TIMEOUT');
    expect((error as TimeoutError).attempts).toBe(3);
    expect((error as Error).message).toMatch(/PUT .*parts\/1 failed after 3 attempts/);
    expect(ms).toBeLessThan(5000);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });

  it("the client's own expiry check: once the plan's expiresAt has passed, no further PUT is sent", async () => {
    // The server keeps the session for an hour; only the plan the client sees expires in 300 ms,
    // so nothing but the client's own check can stop part 2.
    const e = await emulator({
      planTransform: (plan) => ({ ...plan, expiresAt: new Date(Date.now() + 300).toISOString() }),
      faults: [{ route: 'part', partNumber: 1, action: { type: 'delay', ms: 500 } }],
    });
    const data = bytes(4 * 64 * KiB, 4);
    const { error } = await timed(uploadToVault(source(data, 64 * KiB), opts(e, data.length, { concurrency: 1, headersTimeout: 5000 })));
    expect(error).toBeInstanceOf(UploadExpiredError);
    expect(e.requests.filter((r) => r.route === 'part').map((r) => [r.partNumber, r.status])).toEqual([[1, 200]]);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });

  it("the server's 410 on a part (its session expired) is an UploadExpiredError, and no further part is sent", async () => {
    const e = await emulator({
      expiresInMs: 400,
      faults: [{ route: 'part', action: { type: 'delay', ms: 600 } }],
    });
    const data = bytes(4 * 64 * KiB, 4);
    const { error } = await timed(uploadToVault(source(data, 64 * KiB), opts(e, data.length, { concurrency: 1, headersTimeout: 5000 })));
    expect(error).toBeInstanceOf(UploadExpiredError);
    expect(e.requests.filter((r) => r.route === 'part').map((r) => [r.partNumber, r.status])).toEqual([[1, 410]]);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });

  it('a connection refused is retried, then reported as a NetworkError', async () => {
    const e = await emulator({});
    const url = e.url;
    await e.close();
    emu = undefined;
    const { error } = await timed(uploadToVault(bytes(10, 1), { ...opts(e, 10), baseUrl: url, retries: 2 }));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).code).toBe('ERR_OFAUTH_NETWORK');
    expect((error as NetworkError).attempts).toBe(3);
    expect((error as Error).message).toContain('/v2/access/uploads/init');
  });
});
