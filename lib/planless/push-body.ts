/**
 * A request body fed by the Writable: `push` resolves once the HTTP client has taken the chunk,
 * so the source is paced by the socket and at most one chunk waits here. Used for the plan-less
 * single PUT, where the whole file goes in one request and must never be buffered.
 *
 * Each request attempt `claim`s its own consumer. A failed attempt's consumer may still be
 * parked here (the HTTP client does not always close it): once a newer attempt has claimed the
 * body, the old one must never take a chunk, or the new attempt would miss it.
 */
export class PushBody implements AsyncIterable<Uint8Array> {
  #pending: { chunk: Uint8Array; resolve: () => void; reject: (error: unknown) => void } | undefined;
  #wakeConsumer: (() => void) | undefined;
  #ended = false;
  #failure: { error: unknown } | undefined;
  #started = false;
  #generation = 0;
  readonly #onTake: ((chunk: Uint8Array) => void) | undefined;

  /** `onTake` runs as the client takes each chunk, before it is written anywhere. */
  constructor(onTake?: (chunk: Uint8Array) => void) {
    this.#onTake = onTake;
  }

  /** True once any byte was taken: from then on the request cannot be sent again. */
  get started(): boolean {
    return this.#started;
  }

  push(chunk: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error);
    return new Promise<void>((resolve, reject) => {
      this.#pending = { chunk, resolve, reject };
      this.#wake();
    });
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    this.#pending?.reject(error);
    this.#pending = undefined;
    this.#wake();
  }

  #wake(): void {
    const wake = this.#wakeConsumer;
    this.#wakeConsumer = undefined;
    wake?.();
  }

  /** A consumer for one attempt; every earlier consumer stops before taking another chunk. */
  claim(): AsyncIterable<Uint8Array> {
    const generation = ++this.#generation;
    this.#wake(); // a parked older consumer wakes, finds itself superseded, and ends
    return { [Symbol.asyncIterator]: () => this.#consume(generation) };
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.claim()[Symbol.asyncIterator]();
  }

  async *#consume(generation: number): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (generation !== this.#generation) throw new Error('superseded by a newer request attempt');
      if (this.#failure !== undefined) throw this.#failure.error;
      const pending = this.#pending;
      if (pending !== undefined) {
        this.#pending = undefined;
        this.#started = true;
        this.#onTake?.(pending.chunk);
        try {
          yield pending.chunk;
        } finally {
          // Resumed (taken by the socket) or returned early (request over): either way the
          // writer may go on; a failed request reaches the stream through its own promise.
          pending.resolve();
        }
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wakeConsumer = resolve;
      });
    }
  }
}
