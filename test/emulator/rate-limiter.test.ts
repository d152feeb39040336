import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../lib/emulator';
import { RateLimiter } from '../../lib/emulator/rate-limiter';
import { MiB, auth, data, init, initPlan, post, put, slice } from './helpers';

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function emulator(options: EmulatorOptions): Promise<Emulator> {
  emu = await startEmulator({ partSize: 4 * MiB, ...options });
  return emu;
}

describe('RateLimiter: a token bucket per connection', () => {
  it('burst at once, then perMinute a minute, refused requests take no token', () => {
    const limiter = new RateLimiter({ perMinute: 120, burst: 3 });
    const t = 1_000_000;
    expect([1, 2, 3].map(() => limiter.take('a', t).remaining)).toEqual([2, 1, 0]);
    const refused = limiter.take('a', t);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 500 });
    // 2 a second: one token back after 500 ms, whatever the refusals in between.
    expect(limiter.take('a', t + 499).allowed).toBe(false);
    expect(limiter.take('a', t + 500)).toMatchObject({ allowed: true, remaining: 0 });
    // Full again 1.5 s after that (3 tokens at 2/s).
    expect(limiter.take('a', t + 500).fullAtMs).toBe(t + 500 + 1500);
    expect(limiter.take('b', t).remaining).toBe(2);
    // Never more than the burst, however long the pause.
    expect(limiter.take('b', t + 3_600_000).remaining).toBe(2);
  });
});

describe('the emulator with rateLimit', () => {
  it('answers X-RateLimit-* (epoch Reset), refuses with 429 and a JSON body once the bucket is empty, per connection id', async () => {
    const e = await emulator({ rateLimit: { perMinute: 60, burst: 2 } });
    const first = await init(e, 100);
    expect(first.status).toBe(200);
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '1' });
    const reset = Number(first.headers['x-ratelimit-reset']);
    // Unix seconds, about a second from now (one token at 1/s).
    expect(reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 2);
    expect((await init(e, 100)).headers['x-ratelimit-remaining']).toBe('0');
    const refused = await init(e, 100);
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ error: expect.stringMatching(/rate limit/i) });
    expect(refused.headers['retry-after']).toBeUndefined();
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    // Three init requests came; the refused one opened no session.
    expect(e.stats).toMatchObject({ rateLimited: 1, initCalls: 3 });
    expect(e.uploads()).toHaveLength(2);
    // Another connection has a bucket of its own.
    const bob = await post(`${e.url}/v2/access/uploads/init`, { filename: 'a.mp4', size: 10, contentType: 'video/mp4' }, { ...auth(e), 'x-connection-id': 'bob' });
    expect(bob.status).toBe(200);
  });

  it("'delta' Reset, Retry-After when asked, no headers with 'none'", async () => {
    const e = await emulator({ rateLimit: { perMinute: 30, burst: 1, headers: 'delta', retryAfter: true } });
    const first = await init(e, 100);
    // Seconds from now: 2 s to refill one token at 30/min.
    expect(first.headers['x-ratelimit-reset']).toBe('2');
    const refused = await init(e, 100);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    await e.close();
    const quiet = await emulator({ rateLimit: { perMinute: 30, burst: 1, headers: 'none' } });
    const answer = await init(quiet, 100);
    expect(Object.keys(answer.headers).filter((h) => h.startsWith('x-ratelimit'))).toEqual([]);
    expect((await init(quiet, 100)).status).toBe(429);
  });

  it('a refused part PUT is answered at once without its body being read, and nothing is stored', async () => {
    const e = await emulator({ rateLimit: { perMinute: 60, burst: 1 } });
    const bytes = data(16 * MiB, 3);
    const plan = await initPlan(e, bytes.length);
    const part = plan.parts[0]!;
    // 16 MiB is far more than loopback buffers take before the peer reads: the answer came first.
    const answer = await put(part.uploadUrl, slice(bytes, part.byteRange), auth(e)).catch((error: unknown) => error);
    // undici resets a connection it is still writing when the answer completes: the 429 arrives.
    expect(answer).toMatchObject({ status: 429 });
    const record = e.requests.find((r) => r.route === 'part');
    expect(record).toMatchObject({ status: 429, error: 'rate limited' });
    expect(record!.bytesReceived).toBeLessThan(part.byteRange.end - part.byteRange.start + 1);
    expect(e.media(plan.mediaUploadId)?.parts ?? []).toEqual([]);
  });

  it('rejects a limit that makes no sense, at start', async () => {
    await expect(startEmulator({ rateLimit: { perMinute: 0 } })).rejects.toThrow(/perMinute/);
    await expect(startEmulator({ rateLimit: { perMinute: 60, burst: 0.5 } })).rejects.toThrow(/burst/);
    await expect(startEmulator({ rateLimit: { perMinute: 60, headers: 'iso' as 'epoch' } })).rejects.toThrow(/headers/);
  });
});
