import { describe, expect, it } from 'vitest';
import type { Emulator, EmulatorRateLimit } from '../../lib/emulator';
import { AbortError, RateLimitError, type RateLimitEvent, RatePacer, UploadExpiredError, uploadToVault } from '../../lib/index';
import { KiB, bytes, emulatorFixture, sha256, source, timed } from '../helpers';

// Uploads against the emulator's limiter (OFAuth's token bucket per connection), end to end.
// Rates here are high (tens a second) so each test takes a second or two; the pacing numbers
// themselves are proved on a simulated clock (rate-pacer.test.ts) and in the benchmark.

const API_KEY = 'sk_live_rate_secret_61';
const fixture = emulatorFixture({ apiKey: API_KEY, partSize: 64 * KiB, hashing: 'sha256' });

const limited = (rateLimit: EmulatorRateLimit) => fixture.start({ rateLimit });
const refusedBodyBytes = (e: Emulator) => e.requests.filter((r) => r.status === 429).reduce((sum, r) => sum + r.bytesReceived, 0);

describe('an upload on a rate-limited connection', () => {
  it('with X-RateLimit-* headers: completes intact, paced, without a refusal, and says what it waited', async () => {
    const e = await limited({ perMinute: 1200, burst: 5 });
    const data = bytes(24 * 64 * KiB, 1);
    const events: RateLimitEvent[] = [];
    const result = await uploadToVault(source(data, 64 * KiB), fixture.uploadOptions(e, data.length, { pacer: new RatePacer(), onRateLimit: (event) => events.push(event) }));
    expect(e.media(result.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
    // 26 requests through a bucket of 5 at 20/s: about a second of pacing.
    expect(e.stats.rateLimited).toBeLessThanOrEqual(1);
    expect(result.rateLimit.refusals).toBe(e.stats.rateLimited);
    expect(result.rateLimit.waitedMs).toBeGreaterThan(500);
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ reason: 'paced', connectionId: 'conn_test', remaining: 0 });
    expect(events.every((event) => event.waitMs > 0 && !JSON.stringify(event).includes(API_KEY))).toBe(true);
  });

  it('with no header at all: learns the bucket from its 429s and completes intact; a 429 costs no retry', async () => {
    const e = await limited({ perMinute: 1200, burst: 5, headers: 'none' });
    const data = bytes(24 * 64 * KiB, 2);
    // retries: 0, so a refusal that counted as a failed attempt would fail the upload.
    const result = await uploadToVault(source(data, 64 * KiB), fixture.uploadOptions(e, data.length, { pacer: new RatePacer(), retries: 0 }));
    expect(e.media(result.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
    expect(e.stats.rateLimited).toBeGreaterThan(0);
    expect(result.rateLimit.refusals).toBe(e.stats.rateLimited);
    // Far fewer refusals than requests: it paced, rather than retrying into the empty bucket.
    expect(e.stats.rateLimited).toBeLessThan(8);
  });

  it('a refusal is answered before the body is read: the refused part bodies never reach the emulator', async () => {
    const e = await limited({ perMinute: 600, burst: 2, headers: 'none' });
    const data = bytes(8 * 64 * KiB, 3);
    await uploadToVault(source(data, 64 * KiB), fixture.uploadOptions(e, data.length, { pacer: new RatePacer() }));
    expect(e.stats.rateLimited).toBeGreaterThan(0);
    expect(refusedBodyBytes(e)).toBe(0);
  });

  it('uploads in one process share their connection\'s pacer: the second waits its turn instead of meeting a 429', async () => {
    // A token a second, two in the bucket: a one-part upload (init, its PUT) takes both.
    const e = await limited({ perMinute: 60, burst: 2 });
    const conn = `conn_shared_${Date.now()}`;
    const data = bytes(32 * KiB, 4);
    await uploadToVault(data, fixture.uploadOptions(e, data.length, { connectionId: conn }));
    const events: RateLimitEvent[] = [];
    const second = await uploadToVault(data, fixture.uploadOptions(e, data.length, { connectionId: conn, onRateLimit: (event) => events.push(event) }));
    expect(e.media(second.mediaUploadId)?.completed).toBe(true);
    expect(events[0]).toMatchObject({ reason: 'paced', connectionId: conn });
    expect(second.rateLimit.waitedMs).toBeGreaterThan(0);
    expect(e.stats.rateLimited).toBe(0);
  });

  it('a pacer of its own isolates an upload: it does not know the bucket is empty, and meets the 429', async () => {
    const e = await limited({ perMinute: 60, burst: 2 });
    const conn = `conn_isolated_${Date.now()}`;
    const data = bytes(32 * KiB, 5);
    await uploadToVault(data, fixture.uploadOptions(e, data.length, { connectionId: conn }));
    const result = await uploadToVault(data, fixture.uploadOptions(e, data.length, { connectionId: conn, pacer: new RatePacer() }));
    expect(e.media(result.mediaUploadId)?.completed).toBe(true);
    expect(e.stats.rateLimited).toBeGreaterThan(0);
    expect(result.rateLimit.refusals).toBe(e.stats.rateLimited);
  });

  it('waits no longer than rateLimitMaxWait: RateLimitError, typed, nothing finalized', async () => {
    const e = await limited({ perMinute: 1, burst: 2 });
    const data = bytes(4 * 64 * KiB, 6);
    const { error, ms } = await timed(uploadToVault(source(data, 64 * KiB), fixture.uploadOptions(e, data.length, { pacer: new RatePacer(), rateLimitMaxWait: 300 })));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ code: 'ERR_OFAUTH_RATE_LIMITED', maxWaitMs: 300 });
    expect((error as RateLimitError).waitedMs).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(5_000);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });

  it('an abort ends a rate-limit wait at once', async () => {
    const e = await limited({ perMinute: 1, burst: 2 });
    const data = bytes(4 * 64 * KiB, 7);
    const controller = new AbortController();
    const running = uploadToVault(source(data, 64 * KiB), fixture.uploadOptions(e, data.length, { pacer: new RatePacer(), signal: controller.signal, onRateLimit: () => controller.abort() }));
    const { error, ms } = await timed(running);
    expect(error).toBeInstanceOf(AbortError);
    expect(ms).toBeLessThan(2_000);
  });

  it('waits no longer than the session lasts: a wait past expiresAt is UploadExpiredError at expiresAt', async () => {
    const e = await fixture.start({ rateLimit: { perMinute: 6, burst: 2 }, expiresInMs: 1_500 });
    const data = bytes(4 * 64 * KiB, 8);
    // Init and part 1 take the burst; part 2 would wait 10 s for a token, the session lasts 1.5.
    const { error, ms } = await timed(uploadToVault(source(data, 64 * KiB), fixture.uploadOptions(e, data.length, { pacer: new RatePacer() })));
    expect(error).toBeInstanceOf(UploadExpiredError);
    expect(ms).toBeGreaterThanOrEqual(1_000);
    expect(ms).toBeLessThan(5_000);
    expect(e.stats.rateLimited).toBe(0);
  });
});
