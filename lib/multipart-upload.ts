import type { VaultMedia } from './answers';
import { BufferPool } from './buffer-pool';
import { OFAuthUploadError } from './errors';
import { type FilledPart, PartAssembler } from './part-assembler';
import { PartUploader } from './part-uploader';
import { type MultipartPlan, partLength } from './plan';
import type { PartReceipt, SinkDeps, UploadResult, UploadSink } from './upload-sink';

export interface MultipartUploadDeps extends SinkDeps {
  concurrency: number;
}

/** source bytes → PartAssembler → PartUploader → complete (unless a part answer finalized). */
export class MultipartUpload implements UploadSink {
  readonly #plan: MultipartPlan;
  readonly #deps: MultipartUploadDeps;
  readonly #assembler: PartAssembler;
  readonly #uploader: PartUploader<{ etag?: string; media?: VaultMedia }>;
  readonly #receipts: PartReceipt[] = [];
  #media: VaultMedia | undefined;
  #last: FilledPart | undefined;

  constructor(plan: MultipartPlan, deps: MultipartUploadDeps) {
    this.#plan = plan;
    this.#deps = deps;
    // Every part but the last is partSize long, so one size fits all pooled buffers; a single
    // part plan needs only its own length.
    const bufferSize = plan.parts.length === 1 ? partLength(plan.parts[0]!) : plan.partSize;
    const pool = new BufferPool(bufferSize, Math.min(deps.concurrency + 1, plan.parts.length));
    this.#uploader = new PartUploader({
      concurrency: deps.concurrency,
      send: ({ part, data }, bodySent) =>
        deps.api.putPart(plan.mediaUploadId, part, data, plan.expiresAt, (bytes) => {
          deps.progress.sent(part.partNumber, bytes);
          if (bytes === data.length) bodySent();
        }),
      onDone: ({ part, data, buffer }, answer) => {
        pool.release(buffer);
        const receipt: PartReceipt = { partNumber: part.partNumber, ...(answer.etag === undefined ? {} : { etag: answer.etag }) };
        this.#receipts[part.partNumber - 1] = receipt;
        if (answer.media !== undefined) this.#media = answer.media;
        deps.progress.partDone(part.partNumber, data.length);
        deps.onPart(receipt);
      },
      onError: deps.onError,
    });
    // The last part waits for finish(), that is for the stream to confirm the byte count: sent
    // early, a single-part finalize would store a file the source then overruns.
    this.#assembler = new PartAssembler(plan.parts, pool, (filled) => {
      if (filled.part.partNumber === plan.parts.length) this.#last = filled;
      else this.#uploader.submit(filled);
    });
  }

  write(chunk: Buffer): Promise<void> | undefined {
    return this.#assembler.write(chunk, this.#deps.signal);
  }

  async finish(): Promise<UploadResult> {
    if (this.#last !== undefined) this.#uploader.submit(this.#last);
    this.#last = undefined;
    await this.#uploader.idle();
    const { mediaUploadId, completeUrl, parts } = this.#plan;
    const acknowledged = this.#receipts.filter(Boolean).length;
    if (acknowledged !== parts.length) {
      // Unreachable when the stream checked the byte count; kept so complete can never run early.
      throw new OFAuthUploadError(`Only ${acknowledged} of ${parts.length} parts were acknowledged`, 'ERR_OFAUTH_INTERNAL');
    }
    const media = this.#media ?? (await this.#deps.api.complete(mediaUploadId, completeUrl)).media;
    return { mediaUploadId, media, parts: this.#receipts };
  }

  settled(): Promise<void> {
    return this.#uploader.settled();
  }
}
