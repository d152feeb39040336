import { type RateLimitMessage, rateLimitChannel } from '../diagnostics/channels';
import type { RequestSpec } from '../http';
import type { RateLimitTracker } from './rate-limit-tracker';
import type { RateGrant, RatePacer } from './rate-pacer';

/** What a request asks of its connection's rate limit, and what it tells of its upload's waits. */
export interface RateContext {
  pacer: RatePacer;
  tracker: RateLimitTracker;
  /** The longest one request waits for the limit (pacing and 429s together), in ms. */
  maxWaitMs: number;
  /** Requests this upload keeps going at once (what the pacer lets out while the bucket is unknown). */
  concurrency: number;
}

/**
 * A grant from the connection's pacer, within what is left of this request's budget for
 * waiting. The wait counts in the upload's totals and is told to its listener.
 */
export async function takeGrant(
  rate: RateContext,
  signal: AbortSignal,
  budgetMs: number,
  refusedBefore: boolean,
  failure: (waitedMs: number) => Error,
  deadline: RequestSpec['deadline'],
  trace?: RequestSpec['trace'],
): Promise<RateGrant> {
  const from = performance.now();
  // The budget's timer is set only once the pacer says this request must wait (most never do).
  const overBudget = new AbortController();
  const either = AbortSignal.any([signal, overBudget.signal]);
  let timer: NodeJS.Timeout | undefined;
  let endWait: (() => void) | undefined;
  try {
    return await rate.pacer.take(
      either,
      (wait) => {
        endWait = rate.tracker.waiting();
        const untilDeadline = deadline === undefined ? Number.POSITIVE_INFINITY : deadline.at - Date.now();
        const limit = Math.min(budgetMs, untilDeadline);
        timer = setTimeout(() => overBudget.abort(limit === untilDeadline ? 'deadline' : 'budget'), Math.max(0, Math.min(Math.floor(limit), 2_147_483_647)));
        const reason = refusedBefore ? 'refused' : 'paced';
        rate.tracker.emit({ reason, waitMs: wait.waitMs, remaining: wait.remaining });
        if (trace !== undefined && rateLimitChannel.hasSubscribers) {
          const message: RateLimitMessage = {
            upload: trace.upload,
            request: trace.request,
            ...(trace.mediaUploadId === undefined ? {} : { mediaUploadId: trace.mediaUploadId }),
            ...(trace.partNumber === undefined ? {} : { partNumber: trace.partNumber }),
            reason,
            waitMs: wait.waitMs,
            ...(wait.remaining === undefined ? {} : { remaining: wait.remaining }),
          };
          rateLimitChannel.publish(message);
        }
      },
      rate.concurrency,
    );
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (overBudget.signal.aborted) throw overBudget.signal.reason === 'deadline' && deadline !== undefined ? deadline.error() : failure(performance.now() - from);
    throw error;
  } finally {
    clearTimeout(timer);
    endWait?.();
  }
}

