import type { FinalAnswer } from './answers';
import type { UploadApi } from './api';
import type { ProgressTracker } from './progress';
import { PushBody } from './push-body';
import type { PartReceipt, UploadResult, UploadSink } from './upload-sink';

export interface PlanlessUploadDeps {
  api: UploadApi;
  signal: AbortSignal;
  progress: ProgressTracker;
  onPart: (receipt: PartReceipt) => void;
  onError: (error: unknown) => void;
}

/**
 * The newer API answers init with `{ mediaUploadId }` only: the whole source streams through one
 * PUT that finalizes by itself. It can be retried only until its first byte was taken, since
 * the source is read once and never buffered.
 */
export class PlanlessUpload implements UploadSink {
  readonly #mediaUploadId: string;
  readonly #progress: ProgressTracker;
  readonly #onPart: (receipt: PartReceipt) => void;
  readonly #body = new PushBody();
  readonly #request: Promise<FinalAnswer>;
  #taken = 0;

  constructor(mediaUploadId: string, deps: PlanlessUploadDeps) {
    this.#mediaUploadId = mediaUploadId;
    this.#progress = deps.progress;
    this.#onPart = deps.onPart;
    const onAbort = () => this.#body.fail(deps.signal.reason);
    if (deps.signal.aborted) onAbort();
    else deps.signal.addEventListener('abort', onAbort, { once: true });
    this.#request = deps.api.putWhole(mediaUploadId, this.#body, () => !this.#body.started);
    this.#request.then(
      () => deps.signal.removeEventListener('abort', onAbort),
      (error: unknown) => {
        deps.signal.removeEventListener('abort', onAbort);
        this.#body.fail(error);
        deps.onError(error);
      },
    );
  }

  write(chunk: Buffer): Promise<void> {
    // A copy: the socket may still hold what it was given after the client asked for more, and
    // the caller may reuse its chunk once the write callback ran.
    return this.#body.push(Buffer.from(chunk)).then(() => {
      this.#taken += chunk.length;
      this.#progress.sent(1, this.#taken);
    });
  }

  async finish(): Promise<UploadResult> {
    this.#body.end();
    const { media } = await this.#request;
    this.#progress.partDone(1, this.#taken);
    // The whole file was one part: report it like the parts of a plan.
    const receipt: PartReceipt = { partNumber: 1 };
    this.#onPart(receipt);
    return { mediaUploadId: this.#mediaUploadId, media, parts: [receipt] };
  }

  async settled(): Promise<void> {
    await this.#request.then(
      () => undefined,
      () => undefined,
    );
  }
}
