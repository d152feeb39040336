import type { IncomingHttpHeaders } from 'node:http';
import { type PacerClock, RatePacer } from '../../lib/rate/rate-pacer';

/** A clock whose time moves only when the simulation says: outcomes do not depend on the machine. */
export class FakeClock implements PacerClock {
  #now = 1_700_000_000_000;
  #timers: Array<{ at: number; fn: () => void; id: number }> = [];
  #id = 0;

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const id = ++this.#id;
    this.#timers.push({ at: this.#now + Math.max(0, ms), fn, id });
    return () => {
      this.#timers = this.#timers.filter((t) => t.id !== id);
    };
  }

  /** Runs timers in time order until none is left (or `limit` ms of simulated time passed). */
  async run(limitMs = 3_600_000): Promise<void> {
    const end = this.#now + limitMs;
    for (let i = 0; i < 1_000_000; i++) {
      await flush();
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.#timers.shift();
      if (next === undefined) return;
      if (next.at > end) throw new Error('simulation ran past its limit');
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    throw new Error('simulation did not settle');
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export interface BucketShape {
  perSecond: number;
  burst: number;
  headers: 'epoch' | 'delta' | 'none';
  retryAfter?: boolean;
}

/** The server's token bucket, as the emulator keeps it. */
export class SimulatedBucket {
  #tokens: number;
  #at: number;
  refusals = 0;
  accepted = 0;

  constructor(
    readonly shape: BucketShape,
    readonly clock: FakeClock,
  ) {
    this.#tokens = shape.burst;
    this.#at = clock.now();
  }

  take(): { status: number; headers: IncomingHttpHeaders } {
    const now = this.clock.now();
    const perMs = this.shape.perSecond / 1000;
    this.#tokens = Math.min(this.shape.burst, this.#tokens + (now - this.#at) * perMs);
    this.#at = now;
    const allowed = this.#tokens >= 1;
    if (allowed) this.#tokens -= 1;
    if (allowed) this.accepted++;
    else this.refusals++;
    const headers: IncomingHttpHeaders = {};
    if (this.shape.headers !== 'none') {
      const fullAt = now + Math.ceil((this.shape.burst - this.#tokens) / perMs);
      headers['x-ratelimit-limit'] = String(this.shape.perSecond * 60);
      headers['x-ratelimit-remaining'] = String(Math.floor(this.#tokens));
      headers['x-ratelimit-reset'] = this.shape.headers === 'epoch' ? String(Math.ceil(fullAt / 1000)) : String(Math.max(0, Math.ceil((fullAt - now) / 1000)));
    }
    if (!allowed && this.shape.retryAfter) headers['retry-after'] = String(Math.max(1, Math.ceil((1 - this.#tokens) / perMs / 1000)));
    return { status: allowed ? 200 : 429, headers };
  }
}

export interface SimulatedUpload {
  /** Requests after init and before complete (the parts). */
  parts: number;
  concurrency: number;
}

/**
 * Uploads through `pacer` against `bucket`: init, then the parts `concurrency` at once, then
 * complete; every request is counted by the server `oneWayMs` after it starts and answered
 * `serviceMs` later; a 429 is taken again from the pacer. Resolves with the simulated end time.
 */
export async function simulate(
  clock: FakeClock,
  bucket: SimulatedBucket,
  pacer: RatePacer,
  uploads: SimulatedUpload[],
  timing: { oneWayMs: number; serviceMs: number; seed?: number } = { oneWayMs: 1, serviceMs: 20 },
): Promise<{ elapsedMs: number; requests: number; refusals: number }> {
  const started = clock.now();
  // Service times vary (±50 %, seeded): requests that start together do not all end together.
  let seed = timing.seed ?? 0x9e3779b9;
  const jitter = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return 0.5 + (seed >>> 0) / 2 ** 32;
  };
  let requests = 0;
  const signal = new AbortController().signal;
  const request = async (concurrency: number): Promise<void> => {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const grant = await pacer.take(signal, undefined, concurrency);
      requests++;
      const answer = await new Promise<{ status: number; headers: IncomingHttpHeaders }>((resolve) => {
        clock.setTimer(() => {
          const decision = bucket.take();
          // A refusal is answered at once; an accepted request takes its service time.
          clock.setTimer(() => resolve(decision), decision.status === 429 ? timing.oneWayMs : Math.round(timing.serviceMs * jitter()) + timing.oneWayMs);
        }, timing.oneWayMs);
      });
      const { refused } = pacer.observe(grant, answer);
      if (!refused) return;
    }
    throw new Error('request refused 1000 times');
  };
  const one = async (upload: SimulatedUpload): Promise<void> => {
    await request(upload.concurrency);
    let next = 0;
    const worker = async () => {
      while (next < upload.parts) {
        next++;
        await request(upload.concurrency);
      }
    };
    await Promise.all(Array.from({ length: upload.concurrency }, worker));
    await request(upload.concurrency);
  };
  const done = Promise.all(uploads.map(one));
  await clock.run();
  await done;
  return { elapsedMs: clock.now() - started, requests, refusals: bucket.refusals };
}

export function pacerWith(clock: FakeClock): RatePacer {
  return new RatePacer({ clock });
}
