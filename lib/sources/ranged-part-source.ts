import { SourceChangedError, SourceReadError } from '../errors';
import { type RetryPolicy, backoffDelay, sleep } from '../retry';
import type { PartSource } from './part-source';
import type { DownloadStats, RangeSource } from './range-source';

export interface RangeReadPolicy {
  /** Failed reads of one range tried again before it fails (a read that delivered bytes counts too). */
  retries: number;
  /** The longest a read may go without a byte (waiting for the first one included), in ms. */
  timeout: number;
  baseDelay: number;
  maxDelay: number;
}

/** Told of every chunk read, at its position: the CLI hashes the bytes in order from it. */
export type OnRangeData = (position: number, chunk: Uint8Array) => void;

function errorText(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

/**
 * A RangeSource as a PartSource: each read asks for its range and, when the answer stops short
 * (a cut), times out or fails, asks again for the rest only — so a dropped download costs the
 * bytes it did not deliver, not the part, and total downloads stay near the object's size. Each
 * range has its own retry budget and idle timeout; `SourceChangedError` and `SourceReadError`
 * from the source stop at once.
 */
export class RangedPartSource implements PartSource {
  readonly size: number;
  readonly parallelReads = true;
  readonly #source: RangeSource;
  readonly #policy: RangeReadPolicy;
  readonly #signal: AbortSignal;
  readonly #onData: OnRangeData | undefined;
  #bytes = 0;
  #requests = 0;
  #rereads = 0;
  #closed: Promise<void> | undefined;

  constructor(source: RangeSource, policy: RangeReadPolicy, signal: AbortSignal, onData?: OnRangeData) {
    this.size = source.size;
    this.#source = source;
    this.#policy = policy;
    this.#signal = signal;
    this.#onData = onData;
  }

  get stats(): DownloadStats {
    return { mode: 'ranged', bytes: this.#bytes, requests: this.#requests, rereads: this.#rereads };
  }

  async read(into: Uint8Array, position: number): Promise<void> {
    let offset = 0;
    for await (const chunk of this.stream(position, into.length)) {
      into.set(chunk, offset);
      offset += chunk.length;
    }
  }

  async *stream(position: number, length: number): AsyncGenerator<Uint8Array> {
    const last = position + length - 1;
    const retryPolicy: RetryPolicy = { retries: this.#policy.retries, baseDelay: this.#policy.baseDelay, maxDelay: this.#policy.maxDelay, retryAfterMax: 0 };
    let done = 0;
    let failures = 0;
    // Each round reads at least one byte or spends one of the range's retries: bounded.
    while (done < length) {
      const start = position + done;
      const timer = new IdleTimer(this.#policy.timeout);
      const signal = AbortSignal.any([this.#signal, timer.signal]);
      this.#requests++;
      if (failures > 0) this.#rereads++;
      try {
        timer.resume();
        const answer = await untilAborted(Promise.resolve(this.#source.readRange(start, last, signal)), signal);
        for await (const chunk of abortable(answer, signal)) {
          if (chunk.length > length - done) {
            throw new SourceReadError({ source: this.#source.name, start, end: last, attempts: failures + 1, reason: 'the source sent more bytes than the range asked for' });
          }
          if (chunk.length === 0) continue;
          this.#bytes += chunk.length;
          this.#onData?.(position + done, chunk);
          done += chunk.length;
          // The consumer's time (a PUT the socket holds back) is not the source's: the clock
          // runs only while waiting for the source.
          timer.pause();
          yield chunk;
          timer.resume();
        }
        if (done < length) throw Object.assign(new Error(`the answer ended after ${done} of ${length} bytes`), { code: 'ERR_OFAUTH_SHORT_RANGE' });
      } catch (error) {
        if (this.#signal.aborted) throw this.#signal.reason;
        if (error instanceof SourceChangedError || error instanceof SourceReadError) throw error;
        failures++;
        const reason = timer.fired ? `no byte for ${this.#policy.timeout} ms` : errorText(error);
        if (failures > this.#policy.retries) {
          throw new SourceReadError({ source: this.#source.name, start: position, end: last, attempts: failures, reason, cause: error });
        }
        await sleep(backoffDelay(failures, retryPolicy), this.#signal);
      } finally {
        timer.stop();
      }
    }
  }

  close(): Promise<void> {
    this.#closed ??= (this.#source.close?.() ?? Promise.resolve()).catch(() => undefined);
    return this.#closed;
  }
}

/**
 * `promise`, or a rejection with the signal's reason as soon as it aborts: a source that ignores
 * its signal (a user's store, a stalled stream) must not hold a timed-out or cancelled read.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The chunks of a read's answer, each wait for the next one cut short when `signal` aborts (the
 * source is then closed). One abort listener per read, raced against each chunk.
 */
async function* abortable(answer: AsyncIterable<Uint8Array> | Uint8Array, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  if (answer instanceof Uint8Array) {
    yield answer;
    return;
  }
  const iterator = answer[Symbol.asyncIterator]();
  // A Node stream (every HTTP and S3 answer) ends its own pending read when destroyed: destroying
  // it on abort is enough. Any other iterable's wait is raced against the abort, chunk by chunk.
  const destroyable = typeof (answer as { destroy?: unknown }).destroy === 'function' ? (answer as unknown as { destroy: (error?: Error) => void }) : undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      reject(signal.reason);
      destroyable?.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  let finished = false;
  try {
    // Each round takes one chunk or ends: bounded by the source.
    for (;;) {
      if (signal.aborted) await aborted;
      const next = destroyable === undefined ? await Promise.race([iterator.next(), aborted]) : await iterator.next();
      if (next.done === true) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    // An abandoned source is told to stop (a Readable is destroyed), without waiting for it.
    if (!finished) iterator.return?.()?.catch?.(() => undefined);
  }
}

/**
 * Aborts its signal once the source has been waited for `ms` without a chunk. Paused while the
 * consumer holds a chunk. One timer per read, checked when it fires (not re-set per chunk: a
 * read of 8 MiB comes in some 130 chunks).
 */
class IdleTimer {
  readonly #controller = new AbortController();
  readonly #ms: number;
  #timer: NodeJS.Timeout | undefined;
  #waitingSince: number | undefined;
  fired = false;

  constructor(ms: number) {
    this.#ms = ms;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Waiting for the source (again): the clock runs from now. */
  resume(): void {
    if (this.#ms <= 0 || this.fired) return;
    this.#waitingSince = performance.now();
    this.#timer ??= setTimeout(() => this.#check(), this.#ms);
  }

  /** The consumer has a chunk: its time does not count. */
  pause(): void {
    this.#waitingSince = undefined;
  }

  stop(): void {
    this.pause();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#waitingSince === undefined) {
      // Paused: look again a whole period after the consumer gives the read back.
      this.#timer = setTimeout(() => this.#check(), this.#ms);
      return;
    }
    const waited = performance.now() - this.#waitingSince;
    if (waited < this.#ms) {
      this.#timer = setTimeout(() => this.#check(), Math.ceil(this.#ms - waited));
      return;
    }
    this.fired = true;
    this.#controller.abort(Object.assign(new Error(`no byte for ${this.#ms} ms`), { code: 'ERR_OFAUTH_RANGE_TIMEOUT' }));
  }
}
