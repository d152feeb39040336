import type { IncomingHttpHeaders } from 'node:http';
import { parseRetryAfter } from '../retry';

/** What an answer says of the rate limit, in units this package chose to read them in. */
export interface RateHeaders {
  /** Whole requests left in the bucket after this one (X-RateLimit-Remaining). */
  remaining?: number;
  /** Milliseconds from now until the bucket is full again (X-RateLimit-Reset, either reading). */
  resetMs?: number;
  /** Milliseconds the server asks us to wait (Retry-After). */
  retryAfterMs?: number;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function number(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(text)) return undefined;
  return Number(text);
}

/**
 * OFAuth names X-RateLimit-Limit, -Remaining and -Reset without defining their units, so Reset is
 * read by its size: a Unix time in milliseconds (> 10^12) or seconds (> 10^9, 2001 on), else
 * seconds from now (a delta of 10^9 seconds, 31 years, would mean nothing). Limit is not read at
 * all: it may be the per-minute rate or the burst, and the pacer learns both from what happens.
 */
export function readRateHeaders(headers: IncomingHttpHeaders, retryAfterMax: number, now = Date.now()): RateHeaders {
  const out: RateHeaders = {};
  const remaining = number(header(headers, 'x-ratelimit-remaining'));
  if (remaining !== undefined && Number.isSafeInteger(Math.floor(remaining))) out.remaining = Math.floor(remaining);
  const reset = number(header(headers, 'x-ratelimit-reset'));
  if (reset !== undefined) {
    const ms = reset > 1e12 ? reset - now : reset > 1e9 ? reset * 1000 - now : reset * 1000;
    out.resetMs = Math.max(0, ms);
  }
  const retryAfter = parseRetryAfter(headers['retry-after'], retryAfterMax, now);
  if (retryAfter !== undefined) out.retryAfterMs = retryAfter;
  return out;
}
