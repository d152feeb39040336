import { AnswerWaits } from './answer-waits';
import type { FilledPart } from './part-body';
import { Waiters } from './waiters';

/** What `send` tells the uploader about each attempt of a part. */
export interface AttemptHooks {
  /**
   * Awaited before every attempt. A retry of a part whose earlier body was sent (and which so
   * gave up its sending slot) waits here for a slot again, ahead of parts not yet started.
   */
  starting: () => Promise<void>;
  /** Each time an attempt's whole body has been taken by the connection. */
  bodySent: () => void;
}

export interface PartUploaderDeps<R> {
  /** Parts whose bodies are being sent at once; at most one part more may wait for its answer. */
  concurrency: number;
  /** Once aborted, no queued part starts. */
  signal: AbortSignal;
  /** How long the upload's init took, if known (see AnswerWaits). */
  initMs?: number;
  /** Sends one part (with its own retries); rejecting is fatal for the upload. */
  send: (filled: FilledPart, attempt: AttemptHooks) => Promise<R>;
  onDone: (filled: FilledPart, result: R) => void;
  onError: (error: unknown) => void;
}

/**
 * Keeps at most `concurrency` parts being sent, from either side (pushed or pulled). A part holds
 * its slot until its answer, so on a near link `concurrency` is also the most requests (and
 * connections) an upload has open. On a far link (init was slow and even the quickest answer
 * so far came a long round trip after its body: AnswerWaits) a part whose body has been sent lets one more part
 * start while it waits, so no connection idles a round trip per part: then concurrency + 1
 * requests are open, never more, and never more than `concurrency` bodies are being sent. The
 * waiting part keeps its buffer until the answer (a retry is sent from it); the pool of
 * concurrency + 1 buffers already held one part more than the slots, so memory does not grow.
 *
 * With pooled buffers the queue never grows past one part: the pool stops the assembler (or
 * reader) before it could fill another. Streamed parts (no buffer) may all be queued at once;
 * they hold nothing until sent.
 */
export class PartUploader<R> {
  readonly #deps: PartUploaderDeps<R>;
  readonly #queue: FilledPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #answerWaits: AnswerWaits;
  /** Parts in flight whose bodies have not all been taken by their connection yet. */
  #sending = 0;
  /** Retries of parts that gave their sending slot up, waiting for one (served first). */
  readonly #slotWaiters = new Waiters<void>();
  #failure: { error: unknown } | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(deps: PartUploaderDeps<R>) {
    this.#deps = deps;
    this.#answerWaits = new AnswerWaits(deps.initMs);
  }

  submit(filled: FilledPart): void {
    this.#queue.push(filled);
    this.#pump();
  }

  #pump(): void {
    const { concurrency, signal } = this.#deps;
    while (this.#slotWaiters.size > 0 && this.#sending < concurrency) {
      this.#sending++;
      this.#slotWaiters.wakeOne();
    }
    while (this.#failure === undefined && !signal.aborted && this.#hasSlot()) {
      const next = this.#queue.shift();
      if (next === undefined) break;
      this.#sending++;
      let sending = true;
      let sentAt: number | undefined;
      const doneSending = (): void => {
        if (!sending) return;
        sending = false;
        this.#sending--;
      };
      const hooks: AttemptHooks = {
        starting: async () => {
          sentAt = undefined;
          if (sending) return;
          await this.#sendingSlot();
          sending = true;
        },
        bodySent: () => {
          sentAt = performance.now();
          doneSending();
          // Not now: `send` may call this before its task is counted in flight below.
          queueMicrotask(() => this.#pump());
        },
      };
      const task: Promise<void> = this.#deps.send(next, hooks).then(
        (result) => {
          doneSending();
          // Only the answering attempt's wait: `starting` forgot the earlier ones.
          if (sentAt !== undefined) this.#answerWaits.record(performance.now() - sentAt);
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
          doneSending();
          this.#inFlight.delete(task);
          this.#fail(error);
          this.#settle();
        },
      );
      this.#inFlight.add(task);
    }
  }

  #hasSlot(): boolean {
    const { concurrency } = this.#deps;
    if (this.#sending >= concurrency) return false;
    return this.#inFlight.size < concurrency + (this.#answerWaits.long ? 1 : 0);
  }

  /** A sending slot for a retry whose part gave its own up once its body was sent. */
  #sendingSlot(): Promise<void> {
    const { concurrency, signal } = this.#deps;
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error);
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#slotWaiters.size === 0 && this.#sending < concurrency) {
      this.#sending++;
      return Promise.resolve();
    }
    return this.#slotWaiters.wait(signal);
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    this.#slotWaiters.rejectAll(error);
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
