import type { VaultMedia } from '../answers';
import { BufferPool } from './buffer-pool';
import { spareBuffers } from './spare-buffers';
import { OFAuthUploadError } from '../errors';
import { pulledPartBuffers, pushedPartBuffers } from './memory-budget';
import { PartAssembler } from './part-assembler';
import type { FilledPart } from './part-body';
import { readParts } from './part-reader';
import { PartUploader } from './part-uploader';
import type { MultipartPlan } from '../plan';
import type { PartSource } from '../sources/part-source';
import type { PartReceipt, SinkDeps, SinkResult, UploadSink } from '../upload-sink';

/** The single plan's one part goes to the endpoint that finalizes by itself. */
function isFinalizingPlan(plan: MultipartPlan): boolean {
  return plan.uploadType === 'single' && plan.parts.length === 1;
}

export interface MultipartUploadDeps extends SinkDeps {
  concurrency: number;
  maxBufferMemory: number;
}

/**
 * A plan's parts → PartUploader → complete (unless the single plan's one PUT finalized). The
 * bytes come pushed (a live stream through the PartAssembler: `write`) or pulled (a seekable
 * source read at each part's offset: `start`); both feed the same uploader and finalize.
 */
export class MultipartUpload implements UploadSink {
  readonly #plan: MultipartPlan;
  readonly #deps: MultipartUploadDeps;
  readonly #uploader: PartUploader<{ etag?: string; media?: VaultMedia }>;
  readonly #receipts: PartReceipt[] = [];
  readonly #pool: BufferPool | undefined;
  #assembler: PartAssembler | undefined;
  #source: PartSource | undefined;
  #reading: Promise<void> | undefined;
  #media: VaultMedia | undefined;
  #last: FilledPart | undefined;

  /** A live stream of known size: parts are cut from what `write` is given. */
  static pushed(plan: MultipartPlan, deps: MultipartUploadDeps): MultipartUpload {
    const upload = new MultipartUpload(plan, deps, undefined);
    const pool = upload.#pool!;
    // The last part waits for finish(), that is for the stream to confirm the byte count: sent
    // early, a single-part finalize would store a file the source then overruns.
    upload.#assembler = new PartAssembler(plan.parts, pool, (filled) => {
      if (filled.part.partNumber === plan.parts.length) upload.#last = filled;
      else upload.#uploader.submit(filled);
    });
    return upload;
  }

  /**
   * A seekable source: parts are read at their offsets, and read again for a retry. `done`: parts
   * a resumed upload already has in the vault; they are neither read nor sent, and their receipts
   * are the result's.
   */
  static pulled(plan: MultipartPlan, deps: MultipartUploadDeps, source: PartSource, done: readonly PartReceipt[] = []): MultipartUpload {
    const upload = new MultipartUpload(plan, deps, source);
    upload.#source = source;
    for (const receipt of done) upload.#receipts[receipt.partNumber - 1] = receipt;
    const remaining = plan.parts.filter((part) => upload.#receipts[part.partNumber - 1] === undefined);
    const finalizes = isFinalizingPlan(plan);
    const reading = readParts(remaining, {
      source,
      pool: upload.#pool,
      signal: deps.signal,
      submit: (filled) => upload.#uploader.submit(filled),
      finalizes,
      maxReads: deps.concurrency,
      onFailure: deps.onError,
    });
    reading.catch(deps.onError);
    upload.#reading = reading;
    return upload;
  }

  private constructor(plan: MultipartPlan, deps: MultipartUploadDeps, source: PartSource | undefined) {
    this.#plan = plan;
    this.#deps = deps;
    // Throws MemoryLimitError for a pushed plan whose parts cannot fit: before any byte is sent.
    const budget =
      source === undefined
        ? pushedPartBuffers(plan, deps.concurrency, deps.maxBufferMemory)
        : pulledPartBuffers(plan, deps.concurrency, deps.maxBufferMemory);
    // Only part-sized buffers are worth keeping for the next upload: a one-part plan's buffer is
    // sized to that one file, which another upload would match only by chance.
    this.#pool = budget && new BufferPool(budget.bufferSize, budget.buffers, plan.parts.length > 1 ? spareBuffers : null);
    // Only the single plan's one part goes to an endpoint that finalizes by definition; a
    // `media` in any other part answer cannot mean the server finalized, and is ignored.
    const finalizesOnPut = isFinalizingPlan(plan);
    this.#uploader = new PartUploader({
      concurrency: budget?.inFlight ?? deps.concurrency,
      signal: deps.signal,
      initMs: deps.api.initMs,
      send: ({ part, body }, attempt) =>
        deps.api.putPart(
          plan.mediaUploadId,
          part,
          body,
          plan.expiresAt,
          (bytes) => {
            deps.progress.sent(part.partNumber, bytes);
            if (bytes === body.length) attempt.bodySent();
          },
          attempt.starting,
          finalizesOnPut,
        ),
      onDone: ({ part, body, release }, answer) => {
        release();
        const receipt: PartReceipt = { partNumber: part.partNumber, ...(answer.etag === undefined ? {} : { etag: answer.etag }) };
        this.#receipts[part.partNumber - 1] = receipt;
        if (finalizesOnPut && answer.media !== undefined) this.#media = answer.media;
        deps.progress.partDone(part.partNumber, body.length);
        deps.onPart(receipt);
      },
      onError: deps.onError,
    });
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.#assembler === undefined) throw new OFAuthUploadError('This upload reads its own source', 'ERR_OFAUTH_INTERNAL');
    return this.#assembler.write(chunk, this.#deps.signal);
  }

  async finish(): Promise<SinkResult> {
    if (this.#last !== undefined) this.#uploader.submit(this.#last);
    this.#last = undefined;
    await this.#reading;
    await this.#uploader.idle();
    // Every part is acknowledged, so every buffer is back: the next upload may have them.
    this.#pool?.retire();
    const { mediaUploadId, completeUrl, parts } = this.#plan;
    const acknowledged = this.#receipts.filter(Boolean).length;
    if (acknowledged !== parts.length) {
      // Unreachable when the stream checked the byte count; kept so complete can never run early.
      throw new OFAuthUploadError(`Only ${acknowledged} of ${parts.length} parts were acknowledged`, 'ERR_OFAUTH_INTERNAL');
    }
    // A source that changed under us must not be finalized.
    await this.#source?.verify?.();
    const media = this.#media ?? (await this.#deps.api.complete(mediaUploadId, completeUrl)).media;
    return { mediaUploadId, media, parts: this.#receipts, size: this.#deps.progress.totalBytes };
  }

  async settled(): Promise<void> {
    await Promise.allSettled([this.#reading, this.#uploader.settled()]);
    this.#pool?.retire();
  }
}
