import { setMaxListeners } from 'node:events';
import { Writable } from 'node:stream';
import { UploadApi } from './api';
import { AbortError, SizeMismatchError } from './errors';
import { type HttpContext, defaultDispatcher } from './http';
import { MultipartUpload } from './multipart-upload';
import { type OFAuthUploadOptions, type ResolvedOptions, type UploadProgress, resolveOptions } from './options';
import { PlanlessUpload } from './planless-upload';
import { type UploadSession, isPlanless } from './plan';
import { ProgressTracker } from './progress';
import { RateGate } from './retry';
import type { PartReceipt, SinkDeps, UploadResult, UploadSink } from './upload-sink';

/** How long destroy waits for cancelled requests to wind down before it reports `close`. */
const SETTLE_GRACE_MS = 1000;

export interface OFAuthUploadStreamEvents {
  session: [session: UploadSession];
  progress: [progress: UploadProgress];
  part: [receipt: PartReceipt];
}

type Listener<K extends keyof OFAuthUploadStreamEvents> = (...args: OFAuthUploadStreamEvents[K]) => void;

// Typed events on top of Writable's own (which keep their Node typings through the fallbacks).
type AnyListener = (...args: never[]) => void;
export interface OFAuthUploadStream {
  on<K extends keyof OFAuthUploadStreamEvents>(event: K, listener: Listener<K>): this;
  on(event: string | symbol, listener: AnyListener): this;
  once<K extends keyof OFAuthUploadStreamEvents>(event: K, listener: Listener<K>): this;
  once(event: string | symbol, listener: AnyListener): this;
  off<K extends keyof OFAuthUploadStreamEvents>(event: K, listener: Listener<K>): this;
  off(event: string | symbol, listener: AnyListener): this;
  addListener<K extends keyof OFAuthUploadStreamEvents>(event: K, listener: Listener<K>): this;
  addListener(event: string | symbol, listener: AnyListener): this;
  prependListener<K extends keyof OFAuthUploadStreamEvents>(event: K, listener: Listener<K>): this;
  prependListener(event: string | symbol, listener: AnyListener): this;
  removeListener<K extends keyof OFAuthUploadStreamEvents>(event: K, listener: Listener<K>): this;
  removeListener(event: string | symbol, listener: AnyListener): this;
  emit<K extends keyof OFAuthUploadStreamEvents>(event: K, ...args: OFAuthUploadStreamEvents[K]): boolean;
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/**
 * A Writable that uploads what is piped into it to the OFAuth vault. `finish` (and so
 * `pipeline`'s promise) means the vault has the media: every part was acknowledged and the
 * upload finalized. Backpressure is the write callback: it is held while every part buffer is
 * full or in flight, so the source is paused rather than buffered.
 */
export class OFAuthUploadStream extends Writable {
  readonly #options: ResolvedOptions;
  /** One per upload: aborting it cancels every request and backoff wait of this upload. */
  readonly #controller = new AbortController();
  readonly #api: UploadApi;
  #sink: UploadSink | undefined;
  #starting: Promise<UploadSink> | undefined;
  #received = 0;
  #session: UploadSession | undefined;
  #result: UploadResult | undefined;
  #detachSignal: (() => void) | undefined;

  constructor(options: OFAuthUploadOptions) {
    const resolved = resolveOptions(options);
    super({ highWaterMark: resolved.highWaterMark, decodeStrings: true });
    this.#options = resolved;
    const http: HttpContext = {
      dispatcher: resolved.dispatcher ?? defaultDispatcher(),
      signal: this.#controller.signal,
      policy: {
        retries: resolved.retries,
        baseDelay: resolved.retryBaseDelay,
        maxDelay: resolved.retryMaxDelay,
        retryAfterMax: resolved.retryAfterMax,
      },
      gate: new RateGate(),
      secrets: [resolved.apiKey],
      headersTimeout: resolved.headersTimeout,
      bodyTimeout: resolved.bodyTimeout,
    };
    // Every in-flight part, buffer wait and backoff sleep listens on this one signal: with up to
    // 64 parts in flight, Node's default of 10 listeners would warn about a leak that is not one.
    setMaxListeners(0, this.#controller.signal);
    this.#api = new UploadApi(resolved, http);
    if (resolved.onProgress) this.on('progress', resolved.onProgress);
    this.#attachSignal(resolved.signal);
  }

  /** The validated init answer, once the session is open. */
  get session(): UploadSession | undefined {
    return this.#session;
  }

  /** Set just before `finish`: the finalized upload. */
  get result(): UploadResult | undefined {
    return this.#result;
  }

  #attachSignal(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    const onAbort = () => this.destroy(new AbortError('The upload was aborted', { cause: signal.reason }));
    if (signal.aborted) {
      // As Node's own streams do with an aborted `signal`: fail at once, but let the caller attach listeners first.
      process.nextTick(onAbort);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.#detachSignal = () => signal.removeEventListener('abort', onAbort);
  }

  #fail = (error: unknown): void => {
    this.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  /** Opens the session on the first chunk, so a source that fails before any data opens none. */
  async #start(): Promise<UploadSink> {
    const session = await this.#api.init();
    this.#session = session;
    const { size, concurrency } = this.#options;
    const totalParts = isPlanless(session) ? 1 : session.parts.length;
    // Progress is emitted from inside a request body: a throwing listener must fail the upload
    // rather than look like a network error to be retried.
    const progress = new ProgressTracker(size, totalParts, (p) => {
      try {
        this.emit('progress', p);
      } catch (error) {
        this.#fail(error);
      }
    });
    const deps: SinkDeps = {
      api: this.#api,
      signal: this.#controller.signal,
      progress,
      onPart: (receipt) => this.emit('part', receipt),
      onError: this.#fail,
    };
    const sink: UploadSink = isPlanless(session)
      ? new PlanlessUpload(session.mediaUploadId, { ...deps, size, replayLimit: this.#options.planlessRetryBuffer })
      : new MultipartUpload(session, { ...deps, concurrency });
    this.emit('session', session);
    return sink;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const { size } = this.#options;
    if (this.#received + chunk.length > size) {
      // Fail before a byte past `size` reaches a part buffer.
      callback(new SizeMismatchError(size, this.#received + chunk.length));
      return;
    }
    this.#received += chunk.length;
    if (chunk.length === 0) {
      callback();
      return;
    }
    if (this.#sink !== undefined) {
      this.#writeTo(this.#sink, chunk, callback);
      return;
    }
    this.#starting ??= this.#start();
    this.#starting.then(
      (sink) => {
        this.#sink = sink;
        this.#writeTo(sink, chunk, callback);
      },
      (error: Error) => callback(error),
    );
  }

  #writeTo(sink: UploadSink, chunk: Buffer, callback: (error?: Error | null) => void): void {
    let pending: Promise<void> | undefined;
    try {
      pending = sink.write(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (pending === undefined) callback();
    else pending.then(() => callback(), (error: Error) => callback(error));
  }

  override _final(callback: (error?: Error | null) => void): void {
    const { size } = this.#options;
    if (this.#received !== size || this.#sink === undefined) {
      // Too few bytes (or none): never finalize a short upload.
      callback(new SizeMismatchError(size, this.#received));
      return;
    }
    this.#sink.finish().then(
      (result) => {
        this.#result = result;
        this.#detachSignal?.();
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#detachSignal?.();
    if (error === null && this.writableEnded && this.#result === undefined) {
      // destroy() without an error once the source has ended, while finalizing: pipeline would
      // take an ended, empty Writable for a finished one and resolve, though nothing was
      // finalized. (Before end(), Node's own premature-close error already covers it.)
      error = new AbortError('The upload stream was destroyed before it finished');
    }
    if (!this.#controller.signal.aborted) this.#controller.abort(error ?? new AbortError('The upload is over'));
    const sink = this.#sink;
    if (sink === undefined || this.#result !== undefined) {
      callback(error);
      return;
    }
    // Let the cancelled requests wind down, so `close` means nothing of this upload is in flight.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SETTLE_GRACE_MS);
      timer.unref();
    });
    Promise.race([sink.settled(), grace]).then(() => {
      clearTimeout(timer);
      callback(error);
    });
  }
}
