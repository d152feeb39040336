import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, sleep } from '../lib/retry';

const policy = { retries: 5, baseDelay: 100, maxDelay: 1000, retryAfterMax: 5000 };

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    expect(backoffDelay(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(3, policy, () => 0.999)).toBe(399);
    expect(backoffDelay(10, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds and HTTP dates, capped', () => {
    expect(parseRetryAfter('2', 5000, now)).toBe(2000);
    expect(parseRetryAfter('0.5', 5000, now)).toBe(500);
    expect(parseRetryAfter('120', 5000, now)).toBe(5000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', 5000, now)).toBe(3000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', 5000, now)).toBe(0);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, 5000, now)).toBeUndefined();
    expect(parseRetryAfter('', 5000, now)).toBeUndefined();
    expect(parseRetryAfter('soon', 5000, now)).toBeUndefined();
    expect(parseRetryAfter('-1', 5000, now)).toBeUndefined();
  });
});

describe('sleep', () => {
  it('sleep rejects with the abort reason as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const started = Date.now();
    const pending = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
