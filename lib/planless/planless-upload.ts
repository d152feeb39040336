import type { FinalAnswer } from '../answers';
import { BODY_SLICE_BYTES, type ProgressTracker } from '../progress';
import { PushBody } from './push-body';
import type { PartReceipt, SinkDeps, SinkResult, UploadSink } from '../upload-sink';

export interface PlanlessUploadDeps extends SinkDeps {
  size: number;
  /** Files up to this size keep a copy of what was sent, so a failed attempt can be replayed. */
  replayLimit: number;
}

/**
 * The newer API answers init with `{ mediaUploadId }` only: the whole source streams through one
 * PUT that finalizes by itself, from the first chunk on. The source is read once: a file larger
 * than `replayLimit` is never held, so its PUT can be retried only until its first byte was
 * taken; a smaller one keeps a copy of the bytes taken, and a new attempt replays them first.
 * The very last byte waits for the stream to confirm the byte count: without it the server
 * cannot finalize an upload the source then overruns.
 */
export class PlanlessUpload implements UploadSink {
  readonly #mediaUploadId: string;
  readonly #size: number;
  readonly #progress: ProgressTracker;
  readonly #onPart: (receipt: PartReceipt) => void;
  readonly #live: PushBody;
  readonly #request: Promise<FinalAnswer>;
  /** Copies of every slice the client took, while the file is small enough to keep. */
  #replay: Uint8Array[] | undefined;
  #written = 0;
  #taken = 0;
  #lastByte: Buffer | undefined;

  constructor(mediaUploadId: string, deps: PlanlessUploadDeps) {
    this.#mediaUploadId = mediaUploadId;
    this.#size = deps.size;
    this.#progress = deps.progress;
    this.#onPart = deps.onPart;
    const replay: Uint8Array[] | undefined = deps.size <= deps.replayLimit ? [] : undefined;
    this.#replay = replay;
    // Recorded as the client takes each slice, so a retry replays exactly what was taken.
    this.#live = new PushBody(replay && ((chunk) => replay.push(chunk)));
    const onAbort = () => this.#live.fail(deps.signal.reason);
    if (deps.signal.aborted) onAbort();
    else deps.signal.addEventListener('abort', onAbort, { once: true });
    this.#request = deps.api
      .putWhole(
        mediaUploadId,
        deps.size,
        () => this.#attemptBody(),
        () => this.#replay !== undefined || !this.#live.started,
      )
      // A 2xx before the body was complete (the last byte waits for `finish`) fails typed in
      // http.ts: the server cannot hold the whole file.
      .finally(() => {
        deps.signal.removeEventListener('abort', onAbort);
        this.#replay = undefined; // nothing can be re-sent any more
      });
    this.#request.catch((error: unknown) => {
      this.#live.fail(error);
      deps.onError(error);
    });
  }

  /**
   * One attempt's body: what earlier attempts took (from the copy), then the live stream. Claimed
   * and copied together, synchronously, so no slice can fall between the two.
   */
  #attemptBody(): AsyncIterable<Uint8Array> {
    const live = this.#live.claim();
    const replayed = this.#replay?.slice() ?? [];
    return (async function* () {
      yield* replayed;
      yield* live;
    })();
  }

  write(chunk: Buffer): Promise<void> | undefined {
    this.#written += chunk.length;
    if (this.#written === this.#size) {
      // Keep back the final byte (a copy: the caller may reuse its chunk after the callback).
      this.#lastByte = Buffer.from(chunk.subarray(chunk.length - 1));
      if (chunk.length === 1) return undefined;
      return this.#send(chunk.subarray(0, chunk.length - 1));
    }
    return this.#send(chunk);
  }

  async #send(data: Uint8Array): Promise<void> {
    for (let offset = 0; offset < data.length; offset += BODY_SLICE_BYTES) {
      // A copy per slice: the socket may still hold a slice after the client asked for the next
      // one, and the caller may reuse its chunk once the write callback ran.
      const slice = Buffer.from(data.subarray(offset, offset + BODY_SLICE_BYTES));
      await this.#live.push(slice);
      this.#taken += slice.length;
      this.#progress.sent(1, this.#taken);
    }
  }

  async finish(): Promise<SinkResult> {
    if (this.#lastByte !== undefined) await this.#send(this.#lastByte);
    this.#lastByte = undefined;
    this.#live.end();
    const { media } = await this.#request;
    this.#progress.partDone(1, this.#taken);
    // The whole file was one part: report it like the parts of a plan.
    const receipt: PartReceipt = { partNumber: 1 };
    this.#onPart(receipt);
    return { mediaUploadId: this.#mediaUploadId, media, parts: [receipt], size: this.#size };
  }

  async settled(): Promise<void> {
    await this.#request.then(
      () => undefined,
      () => undefined,
    );
  }
}
