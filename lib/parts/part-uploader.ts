import type { FilledPart } from './part-body';

export interface PartUploaderDeps<R> {
  /** Parts in flight at once: each from its first byte sent until its answer. */
  concurrency: number;
  /** Once aborted, no queued part starts. */
  signal: AbortSignal;
  /** Sends one part (with its own retries); rejecting is fatal for the upload. */
  send: (filled: FilledPart) => Promise<R>;
  onDone: (filled: FilledPart, result: R) => void;
  onError: (error: unknown) => void;
}

/**
 * Keeps at most `concurrency` parts in flight, from either side (pushed or pulled): a part holds
 * its slot until its answer, so `concurrency` is also the most requests (and connections) an
 * upload has open. With pooled buffers the queue never grows past one part: the pool stops the
 * assembler (or reader) before it could fill another. Streamed parts (no buffer) may all be
 * queued at once; they hold nothing until sent.
 */
export class PartUploader<R> {
  readonly #deps: PartUploaderDeps<R>;
  readonly #queue: FilledPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(deps: PartUploaderDeps<R>) {
    this.#deps = deps;
  }

  submit(filled: FilledPart): void {
    this.#queue.push(filled);
    this.#pump();
  }

  #pump(): void {
    const { concurrency, signal } = this.#deps;
    while (this.#failure === undefined && !signal.aborted && this.#inFlight.size < concurrency) {
      const next = this.#queue.shift();
      if (next === undefined) break;
      const task: Promise<void> = this.#deps.send(next).then(
        (result) => {
          this.#inFlight.delete(task);
          if (this.#failure === undefined) {
            try {
              this.#deps.onDone(next, result);
            } catch (error) {
              // A throwing 'part' or 'progress' listener fails the upload, not the process.
              this.#fail(error);
            }
          }
          this.#pump();
          this.#settle();
        },
        (error: unknown) => {
          this.#inFlight.delete(task);
          this.#fail(error);
          this.#settle();
        },
      );
      this.#inFlight.add(task);
    }
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    this.#deps.onError(error);
  }

  /** Nothing in flight, and nothing queued that could still start. */
  #isIdle(): boolean {
    return this.#inFlight.size === 0 && (this.#queue.length === 0 || this.#failure !== undefined || this.#deps.signal.aborted);
  }

  #settle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when every submitted part is acknowledged; rejects with the first part failure. */
  async idle(): Promise<void> {
    if (!this.#isIdle()) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /** Resolves once no request is in flight any more (used while tearing down, after the abort). */
  async settled(): Promise<void> {
    // A part that was starting as the abort came settles too: wait until none is left.
    for (let round = 0; round < 1000 && this.#inFlight.size > 0; round++) {
      await Promise.allSettled([...this.#inFlight]);
    }
  }
}
