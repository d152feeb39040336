import { describe, expect, it } from 'vitest';
import { readRateHeaders } from '../../lib/rate/rate-headers';
import { RatePacer, type RateGrant } from '../../lib/rate/rate-pacer';
import { FakeClock, SimulatedBucket, type SimulatedUpload, pacerWith, simulate } from './simulation';

// The pacer against a modelled token bucket on a simulated clock: what it learns and how fast it
// goes depend only on its logic, never on the machine. Shapes: the docs' 60/min, burst 90, in
// miniature (2/s, burst 10), with and without X-RateLimit-* headers; each over 10 seeds of
// service-time jitter, so a result that holds for one lucky ordering of answers does not pass.

const MINIATURE = { perSecond: 2, burst: 10 };
const ONE_UPLOAD: SimulatedUpload[] = [{ parts: 60, concurrency: 4 }];
const THREE_UPLOADS: SimulatedUpload[] = [0, 1, 2].map(() => ({ parts: 24, concurrency: 4 }));

function bound(accepted: number, shape: { perSecond: number; burst: number }): number {
  return ((accepted - shape.burst) / shape.perSecond) * 1000;
}

async function runs(headers: 'epoch' | 'delta' | 'none', uploads: SimulatedUpload[], seeds = 10) {
  const out: Array<{ ratio: number; refusals: number; requests: number; accepted: number }> = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const clock = new FakeClock();
    const bucket = new SimulatedBucket({ ...MINIATURE, headers }, clock);
    const result = await simulate(clock, bucket, pacerWith(clock), uploads, { oneWayMs: 1, serviceMs: 20, seed: seed * 7919 });
    const accepted = result.requests - result.refusals;
    out.push({ ratio: bound(accepted, MINIATURE) / result.elapsedMs, refusals: result.refusals, requests: result.requests, accepted });
  }
  return out;
}

describe('RatePacer against a token bucket (simulated time)', () => {
  for (const headers of ['epoch', 'delta'] as const) {
    for (const [name, uploads, requests] of [
      ['one 60-part upload at concurrency 4', ONE_UPLOAD, 62],
      ['three 24-part uploads at once', THREE_UPLOADS, 78],
    ] as const) {
      it(`with X-RateLimit-* (${headers} Reset), ${name}: every request once, within 1/0.9 of the bucket's bound, at most one refusal`, async () => {
        for (const run of await runs(headers, uploads)) {
          expect(run.accepted).toBe(requests);
          expect(run.refusals).toBeLessThanOrEqual(1);
          expect(run.ratio).toBeGreaterThanOrEqual(0.9);
        }
      });
    }
  }

  it('without any header: converges from 429s alone, at least 0.8 of the bound, at most 5 % refused (median over seeds)', async () => {
    for (const uploads of [ONE_UPLOAD, THREE_UPLOADS]) {
      const results = await runs('none', uploads);
      for (const run of results) expect(run.ratio).toBeGreaterThanOrEqual(0.8);
      const shares = results.map((r) => r.refusals / r.requests).sort((a, b) => a - b);
      expect(shares[Math.floor(shares.length / 2)]).toBeLessThanOrEqual(0.05);
      // And never a refusal storm.
      expect(Math.max(...shares)).toBeLessThanOrEqual(0.08);
    }
  });

  it("the docs' real numbers (60/min, burst 90): a 1 GiB upload of 5 MiB parts (207 requests), paced, at most one refusal", async () => {
    const clock = new FakeClock();
    const shape = { perSecond: 1, burst: 90, headers: 'epoch' as const };
    const bucket = new SimulatedBucket(shape, clock);
    const result = await simulate(clock, bucket, pacerWith(clock), [{ parts: 205, concurrency: 4 }], { oneWayMs: 20, serviceMs: 800 });
    expect(result.refusals).toBeLessThanOrEqual(1);
    expect(result.elapsedMs).toBeLessThanOrEqual(bound(207, shape) / 0.9);
  });
});

/** A grant now, and the answer `status` with `headers` for it. */
async function answered(pacer: RatePacer, status: number, headers: Record<string, string> = {}): Promise<RateGrant> {
  const grant = await pacer.take(new AbortController().signal);
  pacer.observe(grant, { status, headers });
  return grant;
}

describe('RatePacer rules', () => {
  it('starts no request while it knows the bucket is empty, and lets the next go once a token is back', async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ clock });
    // Reset in 2 s for 2 tokens: a token a second.
    await answered(pacer, 200, { 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '2' });
    await answered(pacer, 200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' });
    let granted = false;
    const waits: number[] = [];
    const next = pacer.take(new AbortController().signal, (wait) => waits.push(wait.waitMs)).then(() => (granted = true));
    await Promise.resolve();
    expect(granted).toBe(false);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
    await clock.run();
    await next;
    expect(granted).toBe(true);
  });

  it('a Remaining reading that says tokens are back frees a waiting request at once', async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ clock });
    const signal = new AbortController().signal;
    const first = await pacer.take(signal, undefined, 4);
    const second = await pacer.take(signal, undefined, 4);
    pacer.observe(first, { status: 200, headers: { 'x-ratelimit-remaining': '0' } });
    let granted = false;
    const waiting = pacer.take(signal).then(() => (granted = true));
    await Promise.resolve();
    expect(granted).toBe(false);
    // Another client's share came back (or the bucket refilled faster than assumed): no timer needed.
    pacer.observe(second, { status: 200, headers: { 'x-ratelimit-remaining': '3' } });
    await waiting;
    expect(granted).toBe(true);
    expect(clock.now()).toBe(new FakeClock().now());
  });

  it('a reading from a request that overtook an earlier one may lower the level, never raise it', async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ clock });
    const signal = new AbortController().signal;
    const [one, two, three] = [await pacer.take(signal, undefined, 4), await pacer.take(signal, undefined, 4), await pacer.take(signal, undefined, 4)];
    // Three reached the server in some order; the last granted answers first: empty.
    pacer.observe(three, { status: 200, headers: { 'x-ratelimit-remaining': '0' } });
    // The second says 4 left, but the first is still unanswered: it may have been counted after.
    pacer.observe(two, { status: 200, headers: { 'x-ratelimit-remaining': '4' } });
    let granted = false;
    const waiting = pacer.take(signal).then(() => (granted = true));
    await Promise.resolve();
    expect(granted).toBe(false);
    // Once nothing granted earlier is unanswered, a reading is believed whole.
    pacer.observe(one, { status: 200, headers: { 'x-ratelimit-remaining': '4' } });
    await waiting;
    expect(granted).toBe(true);
  });

  it('serves waiters in the order they asked, and an aborted one leaves the line at once', async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ clock, assumedPerMinute: 60 });
    await answered(pacer, 429);
    const order: string[] = [];
    const a = pacer.take(new AbortController().signal).then(() => order.push('a'));
    const leaving = new AbortController();
    const b = pacer.take(leaving.signal).then(
      () => order.push('b'),
      (error: unknown) => order.push(`b aborted: ${String(error)}`),
    );
    const c = pacer.take(new AbortController().signal).then(() => order.push('c'));
    leaving.abort('stop');
    await b;
    expect(order).toEqual(['b aborted: stop']);
    await clock.run();
    await Promise.all([a, c]);
    expect(order).toEqual(['b aborted: stop', 'a', 'c']);
  });

  it("a 429's Retry-After holds every request until it has passed; another status's does not", async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ clock });
    await answered(pacer, 503, { 'retry-after': '30', 'x-ratelimit-remaining': '50' });
    const started = clock.now();
    await pacer.take(new AbortController().signal);
    expect(clock.now()).toBe(started);
    const refused = await pacer.take(new AbortController().signal);
    pacer.observe(refused, { status: 429, headers: { 'retry-after': '5', 'x-ratelimit-remaining': '50' } });
    const held = pacer.take(new AbortController().signal);
    await clock.run();
    await held;
    expect(clock.now() - started).toBeGreaterThanOrEqual(5_000);
  });

  it('while nothing is known of the bucket, no more requests are out at once than one caller keeps going', async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ clock });
    const signal = new AbortController().signal;
    const out = [await pacer.take(signal, undefined, 2), await pacer.take(signal, undefined, 2)];
    let third = false;
    const waiting = pacer.take(signal, undefined, 2).then(() => (third = true));
    await Promise.resolve();
    expect(third).toBe(false);
    pacer.observe(out[0]!, { status: 200, headers: {} });
    await waiting;
    expect(third).toBe(true);
  });

  it('says how long it has been idle (0 while a request is out), so the registry can forget it', async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ clock });
    const grant = await pacer.take(new AbortController().signal, undefined, 4);
    clock.setTimer(() => undefined, 5_000);
    await clock.run();
    expect(pacer.idleFor()).toBe(0);
    pacer.observe(grant, { status: 200, headers: {} });
    clock.setTimer(() => undefined, 7_000);
    await clock.run();
    expect(pacer.idleFor()).toBe(7_000);
  });

  it('a server with no limit (no header, no 429) is never held', async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ clock });
    for (let i = 0; i < 300; i++) await answered(pacer, 200);
    expect(clock.now()).toBe(new FakeClock().now());
  });
});

describe('readRateHeaders', () => {
  const now = 1_800_000_000_000;
  it('reads Reset by its size: Unix seconds, Unix milliseconds, or seconds from now', () => {
    expect(readRateHeaders({ 'x-ratelimit-reset': String(now / 1000 + 30) }, 60_000, now).resetMs).toBe(30_000);
    expect(readRateHeaders({ 'x-ratelimit-reset': String(now + 4_000) }, 60_000, now).resetMs).toBe(4_000);
    expect(readRateHeaders({ 'x-ratelimit-reset': '12' }, 60_000, now).resetMs).toBe(12_000);
    // A time already past means full now.
    expect(readRateHeaders({ 'x-ratelimit-reset': String(now / 1000 - 5) }, 60_000, now).resetMs).toBe(0);
  });

  it('Remaining is a whole count; nonsense is ignored; Retry-After is capped', () => {
    expect(readRateHeaders({ 'x-ratelimit-remaining': '7' }, 60_000, now)).toEqual({ remaining: 7 });
    expect(readRateHeaders({ 'x-ratelimit-remaining': 'lots', 'x-ratelimit-reset': '-3' }, 60_000, now)).toEqual({});
    expect(readRateHeaders({ 'retry-after': '120' }, 60_000, now)).toEqual({ retryAfterMs: 60_000 });
  });
});
