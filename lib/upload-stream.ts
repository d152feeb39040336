import { type SpoolMessage, type UploadTrace, spoolChannel, startUploadTrace } from './diagnostics/channels';
import { setMaxListeners } from 'node:events';
import { Writable } from 'node:stream';
import { AbortError, EmptySourceError, SizeMismatchError, UploadExpiredError } from './errors';
import { type SinkContext, createUploadApi, openSink } from './open-upload';
import { type OFAuthUploadOptions, type ResolvedOptions, type UploadProgress, resolveOptions } from './options';
import type { UploadSession } from './plan';
import type { PartSource } from './sources/part-source';
import { Spool, type SpoolProgress } from './sources/spool';
import type { PartReceipt, SinkResult, UploadResult, UploadSink } from './upload-sink';
import { type RateLimitEvent, RateLimitTracker } from './rate/rate-limit-tracker';
import { runSession } from './session-attempt';

/** After this long waiting for cancelled work at destroy, a process warning says what is stuck. */
const SETTLE_WARNING_MS = 5000;

/**
 * The events `OFAuthUploadStream` emits besides `Writable`'s own, with their listeners'
 * arguments. A listener of `'spool'`, `'progress'` or `'rateLimit'` that throws fails the upload.
 */
export interface OFAuthUploadStreamEvents {
  /** Only without `size`, while the source is spooled: at least every MiB, and once at its end. */
  spool: [progress: SpoolProgress];
  /**
   * The session is open: init answered with a plan, or with an id alone (`isPlanless`). Once per
   * session, before any byte is sent; a spooled upload whose session expired opens a new one and
   * emits again. The stream's `session` property holds the last one.
   */
  session: [session: UploadSession];
  /** Bytes sent and parts acknowledged so far: at least every MiB sent, and once per acknowledged part. */
  progress: [progress: UploadProgress];
  /** The vault acknowledged a part (a plan-less upload's one PUT is part 1). */
  part: [receipt: PartReceipt];
  /** A request waits for the connection's rate limit (paced, or refused with 429). */
  rateLimit: [event: RateLimitEvent];
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
 * The caller's signal must not keep a stream alive: a long-lived signal shared by many streams
 * that were created and dropped unused would otherwise collect one listener per stream. The
 * listener reaches the stream through a WeakRef and is removed once the stream is collected.
 */
const signalCleanup = new FinalizationRegistry<() => void>((detach) => detach());

/**
 * A Writable that uploads what is piped into it to the OFAuth vault. `finish` (and so
 * `pipeline`'s promise) means the vault has the media: every part was acknowledged and the
 * upload finalized. Backpressure is the write callback: it is held while every part buffer is
 * full or in flight (or, with no `size`, until the chunk is in the spool), so the source is
 * paused rather than buffered.
 */
export class OFAuthUploadStream extends Writable {
  readonly #options: ResolvedOptions;
  /** One per upload: aborting it cancels every request, read and backoff wait of this upload. */
  readonly #controller = new AbortController();
  /** What the connection's rate limit cost this upload, whatever sessions it took. */
  readonly #rateLimit: RateLimitTracker;
  /** Set when no size was given: the source is spooled until it ends. */
  readonly #spool: Spool | undefined;
  #sink: UploadSink | undefined;
  #starting: Promise<UploadSink> | undefined;
  #received = 0;
  #session: UploadSession | undefined;
  #result: UploadResult | undefined;
  #detachSignal: (() => void) | undefined;
  /** This upload on the diagnostics channels, from its first byte (or end) on; undefined unheard. */
  #trace: UploadTrace | undefined;
  #traced = false;
  #spoolOnDisk = false;
  /** Work that must be over before `close`: init, spool writes, finalizing, the pulled upload. */
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: OFAuthUploadOptions) {
    const resolved = resolveOptions(options);
    super({ highWaterMark: resolved.highWaterMark, decodeStrings: true });
    this.#options = resolved;
    // Every in-flight part, buffer wait and backoff sleep listens on this one signal: with up to
    // 64 parts in flight, Node's default of 10 listeners would warn about a leak that is not one.
    setMaxListeners(0, this.#controller.signal);
    this.#rateLimit = new RateLimitTracker(resolved.connectionId, (event) => this.#emitSafely('rateLimit', event));
    // A spool write that fails after its chunk was taken (it is written behind the source) fails the stream at once.
    this.#spool =
      resolved.size === undefined ? new Spool(resolved.spool, (progress) => this.#spoolProgress(progress), this.#fail) : undefined;
    if (resolved.onProgress) this.on('progress', resolved.onProgress);
    if (resolved.onRateLimit) this.on('rateLimit', resolved.onRateLimit);
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
    const self = new WeakRef(this);
    const onAbort = () => self.deref()?.destroy(new AbortError('The upload was aborted', { cause: signal.reason }));
    if (signal.aborted) {
      // As Node's own streams do with an aborted `signal`: fail at once, but let the caller attach listeners first.
      process.nextTick(onAbort);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const detach = () => signal.removeEventListener('abort', onAbort);
    const token = {};
    signalCleanup.register(this, detach, token);
    this.#detachSignal = () => {
      detach();
      signalCleanup.unregister(token);
    };
  }

  /** The upload's trace starts with its first write (or its end, for an empty source). */
  #startTrace(): void {
    if (this.#traced) return;
    this.#traced = true;
    const { filename, size, contentType, connectionId, baseUrl } = this.#options;
    this.#trace = startUploadTrace(() => ({ filename, size, contentType, connectionId, server: new URL(baseUrl).origin }));
  }

  #spoolProgress(progress: SpoolProgress): void {
    if (progress.onDisk && !this.#spoolOnDisk) {
      this.#spoolOnDisk = true;
      if (spoolChannel.hasSubscribers) spoolChannel.publish({ upload: this.#trace?.context, event: 'disk', bytes: progress.bytes } satisfies SpoolMessage);
    }
    this.#emitSafely('spool', progress);
  }

  #fail = (error: unknown): void => {
    this.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  /** Listeners run inside request bodies and reads: one that throws fails the upload instead. */
  #emitSafely<K extends keyof OFAuthUploadStreamEvents>(event: K, ...args: OFAuthUploadStreamEvents[K]): void {
    try {
      this.emit(event, ...args);
    } catch (error) {
      this.#fail(error);
    }
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const done = () => this.#inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  /**
   * Opens the session for `size` bytes and the sink that fits its answer, on `signal`, a failure
   * going to `onError`: the stream's own for a live source (a failure fails the stream), a
   * session's own for a spooled one (an expired session can be replaced by a new one).
   */
  #open(size: number, source: PartSource | undefined, signal: AbortSignal, onError: (error: unknown) => void): Promise<UploadSink> {
    const { concurrency, maxBufferMemory, planlessRetryBuffer } = this.#options;
    const context: SinkContext = {
      api: createUploadApi(this.#options, signal, this.#rateLimit, this.#trace?.context),
      signal,
      concurrency,
      maxBufferMemory,
      planlessRetryBuffer,
      onProgress: (p) => this.#emitSafely('progress', p),
      onPart: (receipt) => this.emit('part', receipt),
      onError,
    };
    return openSink(size, source, context, (session) => {
      this.#session = session;
      this.emit('session', session);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#startTrace();
    if (this.#spool !== undefined) {
      this.#settle(() => this.#spool!.write(chunk), callback);
      return;
    }
    const size = this.#options.size!;
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
      this.#settle(() => this.#sink!.write(chunk), callback);
      return;
    }
    // The session opens on the first chunk, so a source that fails before any data opens none.
    this.#starting ??= this.#track(this.#open(size, undefined, this.#controller.signal, this.#fail));
    this.#starting.then(
      (sink) => {
        this.#sink = sink;
        this.#settle(() => sink.write(chunk), callback);
      },
      (error: Error) => callback(error),
    );
  }

  /** Calls back once `take` is done with the chunk: at once when it was taken synchronously. */
  #settle(take: () => Promise<void> | undefined, callback: (error?: Error | null) => void): void {
    let pending: Promise<void> | undefined;
    try {
      pending = take();
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (pending === undefined) callback();
    else this.#track(pending).then(() => callback(), (error: Error) => callback(error));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#startTrace();
    // Tracked: complete (or the spooled upload) is in flight until it settles, and `close` waits for it.
    const done = this.#track(this.#spool === undefined ? this.#finishPushed() : this.#finishSpooled(this.#spool));
    done.then(
      (result) => {
        this.#result = { ...result, rateLimit: this.#rateLimit.totals };
        this.#detachSignal?.();
        this.#trace?.succeeded(this.#result);
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  async #finishPushed(): Promise<SinkResult> {
    const size = this.#options.size!;
    if (this.#received !== size || this.#sink === undefined) {
      // Too few bytes (or none): never finalize a short upload.
      throw new SizeMismatchError(size, this.#received);
    }
    return this.#sink.finish();
  }

  /**
   * The source has ended: its size is known, so open the session and upload from the spool.
   * The spool can be read again: should the session (or its presigned part URLs) expire before
   * every part is sent, one new session is opened and the upload starts over from the spool.
   */
  async #finishSpooled(spool: Spool): Promise<SinkResult> {
    const source = await spool.finish();
    const trace = this.#trace?.context;
    if (trace !== undefined) trace.size = source.size;
    if (spoolChannel.hasSubscribers) spoolChannel.publish({ upload: trace, event: 'ended', bytes: source.size } satisfies SpoolMessage);
    try {
      if (source.size === 0) throw new EmptySourceError();
      try {
        return await this.#spooledAttempt(source);
      } catch (error) {
        if (!(error instanceof UploadExpiredError) || this.#controller.signal.aborted) throw error;
        return await this.#spooledAttempt(source);
      }
    } finally {
      await source.close();
    }
  }

  /** One session's worth of a spooled upload, on a signal of its own (a child of the stream's). */
  #spooledAttempt(source: PartSource): Promise<SinkResult> {
    return runSession(this.#controller.signal, async ({ signal, fail, track }) => {
      const sink = await (this.#starting = this.#open(source.size, source, signal, fail));
      this.#sink = sink;
      track(sink);
      return sink.finish();
    });
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
    this.#windDown().then(() => {
      // Destroyed before it finished, with or without an error: its trace ends failed, once its
      // requests have (their traces end first, as children before their parent).
      if (this.#result === undefined) this.#trace?.failed(error ?? new AbortError('The upload stream was destroyed before it finished'));
      callback(error);
    });
  }

  /**
   * Waits until nothing of this upload is in flight (init, parts, reads, spool writes), then
   * removes the spool: `close` means it is all over. Every request listens on the aborted signal,
   * so this is quick; should a dispatcher not honour the abort, a process warning says so
   * rather than `close` pretending.
   */
  async #windDown(): Promise<void> {
    const warning = setTimeout(() => {
      process.emitWarning(
        `OFAuthUploadStream: ${this.#inFlight.size} cancelled operation(s) still running ${SETTLE_WARNING_MS} ms after destroy; 'close' waits for them`,
        { code: 'OFAUTH_UPLOAD_UNSETTLED' },
      );
    }, SETTLE_WARNING_MS);
    warning.unref();
    try {
      // Bounded: each round waits for what is in flight; new work cannot start once aborted.
      for (let round = 0; round < 100 && this.#inFlight.size > 0; round++) {
        await Promise.allSettled([...this.#inFlight]);
      }
      await this.#sink?.settled();
      await this.#spool?.close();
    } finally {
      clearTimeout(warning);
    }
  }
}
