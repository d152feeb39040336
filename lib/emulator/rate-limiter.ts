import type { EmulatorRateLimit } from './types';

/** What the limiter says of one request: let through or refused, and what the headers tell. */
export interface RateDecision {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** When the bucket will be full again (epoch ms). */
  fullAtMs: number;
  /** For a refusal: how long until one token is back (ms). */
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * OFAuth's limiter as its docs describe it: a token bucket per connection id, refilled
 * continuously at `perMinute` a minute up to `burst`; each request takes a token, and an empty
 * bucket refuses until one has been refilled. A refused request takes none.
 */
export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: Required<Pick<EmulatorRateLimit, 'perMinute' | 'burst'>>) {
    this.#perMs = limit.perMinute / 60_000;
    this.#burst = limit.burst;
  }

  take(connectionId: string, now = Date.now()): RateDecision {
    const bucket = this.#buckets.get(connectionId) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.#buckets.set(connectionId, bucket);
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      fullAtMs: now + Math.ceil((this.#burst - bucket.tokens) / this.#perMs),
      retryAfterMs: allowed ? 0 : Math.ceil((1 - bucket.tokens) / this.#perMs),
    };
  }

  /** Every bucket full again (a new test). */
  reset(): void {
    this.#buckets.clear();
  }
}
