import { setTimeout as delay } from 'node:timers/promises';

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  baseDelay: number;
  maxDelay: number;
  /** Longest Retry-After we honour; a server asking for more gets this. */
  retryAfterMax: number;
}

/**
 * Statuses worth another try, costing one of `retries`: the request may succeed unchanged later.
 * (A 429 is not among them: the rate limit's pacer waits it out, and it costs no retry.)
 */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 500, 502, 503, 504]);

/**
 * Exponential backoff with full jitter (AWS's "full jitter"): a random wait in
 * [0, min(max, base * 2^(retry-1))], so many uploads failing together do not retry in lockstep.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelay, policy.baseDelay * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Parses a Retry-After header: delta-seconds or an HTTP date. Returns milliseconds to wait,
 * capped at `max`, or undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, max: number, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // An HTTP date names its day and month; this keeps Date.parse from reading "-1" as a year.
    if (!/[a-z]{3}/i.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(0, Math.ceil(ms)), max);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw signal.reason;
  if (ms <= 0) return;
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    throw signal.aborted ? signal.reason : error;
  }
}
