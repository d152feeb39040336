import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../lib/emulator';
import { NetworkError, OFAuthApiError, TimeoutError, uploadToVault } from '../lib/index';
import { KiB, bytes, emulatorFixture, sha256 } from './helpers';

// Init opens a session each time it is processed: it is retried only where the server cannot
// have processed it, so a stalled or failed answer never leaves a second, orphaned session.

const API_KEY = 'sk_live_init_secret_3';
const { start: emulator, uploadOptions: options } = emulatorFixture({ apiKey: API_KEY, partSize: 64 * KiB });

const inits = (e: Emulator) => e.requests.filter((r) => r.route === 'init');

describe('init is retried only where the server cannot have processed it', () => {
  it('a stalled answer (headersTimeout) is not sent again: TimeoutError after one init request', async () => {
    // The server may have opened a session before it stalled; a second init would orphan it.
    const e = await emulator({ faults: [{ route: 'init', nth: 1, action: { type: 'hang' } }] });
    const data = bytes(10 * KiB, 1);
    const error = await uploadToVault(data, options(e, data.length, { headersTimeout: 150 })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ attempts: 1 });
    expect(inits(e)).toHaveLength(1);
  });

  it('HTTP 504 at init comes from a gateway whose upstream may have acted: not retried', async () => {
    const e = await emulator({ faults: [{ route: 'init', nth: 1, action: { type: 'status', status: 504 } }] });
    const data = bytes(10 * KiB, 2);
    const error = await uploadToVault(data, options(e, data.length)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OFAuthApiError);
    expect(error).toMatchObject({ status: 504, attempts: 1 });
    expect(inits(e)).toHaveLength(1);
  });

  it('HTTP 502 at init means no valid answer came: retried like 500 (the worst case is one empty session)', async () => {
    const e = await emulator({ faults: [{ route: 'init', nth: [1, 2], action: { type: 'status', status: 502 } }] });
    const data = bytes(10 * KiB, 2);
    const result = await uploadToVault(data, options(e, data.length));
    expect(inits(e).map((r) => r.status)).toEqual([502, 502, 200]);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    // Spent retries still end typed.
    const e2 = await emulator({ faults: [{ route: 'init', action: { type: 'status', status: 502 } }] });
    const error = await uploadToVault(data, options(e2, data.length, { retries: 2 })).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 502, attempts: 3 });
  });

  it('a reset while init is sent is not retried', async () => {
    const e = await emulator({ faults: [{ route: 'init', nth: 1, action: { type: 'reset' } }] });
    const data = bytes(10 * KiB, 3);
    const error = await uploadToVault(data, options(e, data.length)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NetworkError);
    expect(inits(e)).toHaveLength(1);
  });

  it('429, 503, 408 and 500 say the server did not do it: retried (Retry-After honoured), one session', async () => {
    const e = await emulator({
      faults: [
        { route: 'init', nth: 1, action: { type: 'status', status: 429, retryAfter: 0 } },
        { route: 'init', nth: 2, action: { type: 'status', status: 503 } },
        { route: 'init', nth: 3, action: { type: 'status', status: 408 } },
        { route: 'init', nth: 4, action: { type: 'status', status: 500 } },
      ],
    });
    const data = bytes(100 * KiB, 4);
    const result = await uploadToVault(data, options(e, data.length));
    expect(inits(e).map((r) => r.status)).toEqual([429, 503, 408, 500, 200]);
    expect(e.uploads()).toHaveLength(1);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
  });

  it('a refused connection never reached a server: retried until the retries are spent', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    const data = bytes(10, 5);
    const error = await uploadToVault(data, options({ url: `http://127.0.0.1:${port}` }, data.length, { retries: 2 })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ attempts: 3 });
  });
});
