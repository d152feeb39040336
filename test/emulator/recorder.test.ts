import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_REQUEST_LOG, startEmulator, type Emulator } from '../../lib/emulator';
import { resolveOptions } from '../../lib/emulator/options';
import { auth, init, post } from './helpers';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

describe('the request log', () => {
  it('keeps only the most recent maxRequestLog records, in the same live array, ids still counting', async () => {
    emulator = await startEmulator({ maxRequestLog: 3 });
    const log = emulator.requests;
    for (let i = 0; i < 5; i += 1) expect((await init(emulator, 10)).status).toBe(200);
    expect(emulator.requests).toBe(log);
    expect(log.map((r) => r.id)).toEqual([3, 4, 5]);
    expect(log.every((r) => r.route === 'init' && r.status === 200)).toBe(true);
    // Counters are not the log: they still count everything.
    expect(emulator.stats.initCalls).toBe(5);
    emulator.reset();
    expect((await init(emulator, 10)).status).toBe(200);
    expect(log.map((r) => r.id)).toEqual([1]);
  });

  it('maxRequestLog 0 keeps no record; Infinity keeps them all', async () => {
    emulator = await startEmulator({ maxRequestLog: 0 });
    await init(emulator, 10);
    expect(emulator.requests).toEqual([]);
    expect(emulator.stats.initCalls).toBe(1);
    await emulator.close();
    emulator = await startEmulator({ maxRequestLog: Infinity });
    for (let i = 0; i < 3; i += 1) await init(emulator, 10);
    expect(emulator.requests).toHaveLength(3);
  });

  it('is bounded by default', () => {
    expect(resolveOptions({}).maxRequestLog).toBe(DEFAULT_MAX_REQUEST_LOG);
    expect(Number.isSafeInteger(DEFAULT_MAX_REQUEST_LOG)).toBe(true);
    expect(DEFAULT_MAX_REQUEST_LOG).toBeLessThanOrEqual(100_000);
  });

  it('records the JSON body of init, complete and check as understood, with the key redacted', async () => {
    emulator = await startEmulator({ apiKey: 'sk_recorded_key_123' });
    const answer = await init(emulator, 10, { filename: 'x-sk_recorded_key_123.mp4', vaultUpload: { mode: 'message', userId: 'u_7' }, extra: 1 });
    expect(answer.status).toBe(200);
    const recorded = emulator.requests.find((r) => r.route === 'init');
    expect(recorded?.body).toEqual({ filename: 'x-[REDACTED].mp4', size: 10, contentType: 'video/mp4', vaultUpload: { mode: 'message', userId: 'u_7' } });
    await post(`${emulator.url}/v2/access/uploads/complete`, { mediaUploadId: 'upload:x' }, auth(emulator));
    expect(emulator.requests.at(-1)?.body).toEqual({ mediaUploadId: 'upload:x' });
    // A body its schema refuses is not recorded.
    await post(`${emulator.url}/v2/access/uploads/init`, { size: 'ten' }, auth(emulator));
    expect(emulator.requests.at(-1)?.body).toBeUndefined();
  });

  it('redacts the key from every header, in plain and URI-encoded form', async () => {
    const key = 'sk/recorded+key=1';
    emulator = await startEmulator({ apiKey: key });
    await post(`${emulator.url}/v2/access/uploads/init`, { filename: 'a', size: 1, contentType: 'video/mp4' }, {
      ...auth(emulator),
      authorization: 'Bearer x',
      'x-echo': `plain ${key} encoded ${encodeURIComponent(key)}`,
    });
    const headers = emulator.requests[0]!.headers;
    expect(headers['apikey']).toBe('[REDACTED]');
    expect(headers['authorization']).toBe('[REDACTED]');
    expect(headers['x-echo']).toBe('plain [REDACTED] encoded [REDACTED]');
  });
});
