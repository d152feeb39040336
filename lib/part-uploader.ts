import type { FilledPart } from './part-assembler';

export interface PartUploaderDeps<R> {
  /** Parts whose bodies are being sent at once. */
  concurrency: number;
  /**
   * Sends one part (with its own retries); rejecting is fatal for the upload. Calls `bodySent`
   * once the part's whole body has been handed to the connection (again on a retry: only the
   * first call counts).
   */
  send: (filled: FilledPart, bodySent: () => void) => Promise<R>;
  onDone: (filled: FilledPart, result: R) => void;
  onError: (error: unknown) => void;
}

/**
 * Keeps at most `concurrency` part bodies on the wire. A part's slot frees as soon as its body
 * has been sent, not when its answer arrives: the next part starts while this one waits a round
 * trip for its answer, so the uplink does not idle one round trip per part. The waiting part
 * keeps its buffer until the answer (a retry is sent from it), so what bounds memory is still
 * the buffer pool (concurrency + 1 buffers): at most one part more than `concurrency` is open,
 * and a part that is retried after its body was sent does so outside any slot.
 *
 * The queue never grows past one part: the buffer pool stops the assembler before it could
 * fill another.
 */
export class PartUploader<R> {
  readonly #deps: PartUploaderDeps<R>;
  readonly #queue: FilledPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** Slots taken: parts whose bodies are still being sent. */
  #sending = 0;
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
    while (this.#failure === undefined && this.#sending < this.#deps.concurrency) {
      const next = this.#queue.shift();
      if (next === undefined) break;
      this.#sending++;
      let holdsSlot = true;
      const freeSlot = (): boolean => {
        if (!holdsSlot) return false;
        holdsSlot = false;
        this.#sending--;
        return true;
      };
      const bodySent = () => {
        if (freeSlot()) this.#pump();
      };
      const task: Promise<void> = this.#deps.send(next, bodySent).then(
        (result) => {
          freeSlot();
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
          freeSlot();
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
    return this.#inFlight.size === 0 && (this.#queue.length === 0 || this.#failure !== undefined);
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

  /** Resolves once no request is in flight any more (used while tearing down). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
