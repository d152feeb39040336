/** What the `'rateLimit'` event (and `onRateLimit`) carries: a request of this upload waits for its connection's limit. */
export interface RateLimitEvent {
  /** Why: `'paced'`, the bucket is believed empty, so the request waits its turn; `'refused'`, the server answered 429. */
  reason: 'paced' | 'refused';
  /** How long the request is expected to wait before it starts (again), in ms. */
  waitMs: number;
  /** Whole requests the pacer believes are left in the connection's bucket; `undefined` while it does not know. */
  remaining: number | undefined;
  /** The connection whose limit it is (never the API key). */
  connectionId: string;
}

/** What an upload's result (`UploadResult.rateLimit`) says of the rate limit, over all its sessions. */
export interface RateLimitTotals {
  /** Wall-clock time, in whole ms, during which at least one request of this upload waited for the limit (overlapping waits count once). */
  waitedMs: number;
  /** Requests the server refused with 429 (each was sent again; none counted as a retry). */
  refusals: number;
}

/**
 * One upload's view of its connection's limit: the events it emits and the totals its result
 * reports. Waits of parallel requests overlap, so the time waited is the union of their waits.
 */
export class RateLimitTracker {
  readonly connectionId: string;
  readonly #onEvent: ((event: RateLimitEvent) => void) | undefined;
  #waiting = 0;
  #since = 0;
  #waitedMs = 0;
  #refusals = 0;

  constructor(connectionId: string, onEvent?: (event: RateLimitEvent) => void) {
    this.connectionId = connectionId;
    this.#onEvent = onEvent;
  }

  /** A request starts waiting; the returned function ends its wait (once). */
  waiting(): () => void {
    if (this.#waiting++ === 0) this.#since = performance.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.#waiting === 0) this.#waitedMs += performance.now() - this.#since;
    };
  }

  refused(): void {
    this.#refusals++;
  }

  emit(event: Omit<RateLimitEvent, 'connectionId'>): void {
    this.#onEvent?.({ ...event, connectionId: this.connectionId });
  }

  get totals(): RateLimitTotals {
    const open = this.#waiting > 0 ? performance.now() - this.#since : 0;
    return { waitedMs: Math.round(this.#waitedMs + open), refusals: this.#refusals };
  }
}
