import { rangeBody } from '../parts/part-body';
import type { ProgressTracker } from '../progress';
import type { PartSource } from '../sources/part-source';
import type { PartReceipt, SinkDeps, SinkResult, UploadSink } from '../upload-sink';

/**
 * The plan-less single PUT from a seekable source: every attempt reads the whole file again,
 * slice by slice, so it can be retried whatever its size (a live stream can replay only what
 * it kept). Nothing starts before `finish`: the stream has already seen the source's end.
 */
export class PulledPlanlessUpload implements UploadSink {
  readonly #mediaUploadId: string;
  readonly #deps: SinkDeps;
  readonly #source: PartSource;
  #request: Promise<unknown> | undefined;

  constructor(mediaUploadId: string, deps: SinkDeps, source: PartSource) {
    this.#mediaUploadId = mediaUploadId;
    this.#deps = deps;
    this.#source = source;
  }

  write(): never {
    throw new Error('a pulled upload reads its own source');
  }

  async finish(): Promise<SinkResult> {
    const { api, progress } = this.#deps;
    const size = this.#source.size;
    const body = rangeBody(this.#source, 0, size, true);
    const request = api.putWhole(this.#mediaUploadId, size, () => body.slices((bytes) => sentWhole(progress, bytes)), () => true);
    this.#request = request;
    const { media } = await request;
    progress.partDone(1, size);
    const receipt: PartReceipt = { partNumber: 1 };
    this.#deps.onPart(receipt);
    return { mediaUploadId: this.#mediaUploadId, media, parts: [receipt], size };
  }

  async settled(): Promise<void> {
    await this.#request?.then(
      () => undefined,
      () => undefined,
    );
  }
}

function sentWhole(progress: ProgressTracker, bytes: number): void {
  progress.sent(1, bytes);
}
