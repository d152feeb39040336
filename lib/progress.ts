import type { UploadProgress } from './options';

/**
 * Bodies are handed to the socket in slices of at most this many bytes, and progress is
 * reported per slice: the "at least every MiB" granularity, for parts and plan-less PUTs alike.
 */
export const PROGRESS_SLICE_BYTES = 1024 * 1024;

/**
 * Bytes count once: a retried part reports nothing until its new attempt passes what the
 * failed one had already reported, so `bytesUploaded` only grows.
 */
export class ProgressTracker {
  readonly #totalBytes: number;
  readonly #totalParts: number;
  readonly #emit: (progress: UploadProgress) => void;
  readonly #reported = new Map<number, number>();
  #bytes = 0;
  #partsCompleted = 0;

  constructor(totalBytes: number, totalParts: number, emit: (progress: UploadProgress) => void) {
    this.#totalBytes = totalBytes;
    this.#totalParts = totalParts;
    this.#emit = emit;
  }

  /** `bytes` of part `partNumber` have been handed to the socket in the current attempt. */
  sent(partNumber: number, bytes: number): void {
    const before = this.#reported.get(partNumber) ?? 0;
    if (bytes <= before) return;
    this.#reported.set(partNumber, bytes);
    this.#bytes += bytes - before;
    this.#emit(this.snapshot());
  }

  partDone(partNumber: number, length: number): void {
    const before = this.#reported.get(partNumber) ?? 0;
    this.#reported.set(partNumber, Math.max(before, length));
    this.#bytes += Math.max(0, length - before);
    this.#partsCompleted++;
    this.#emit(this.snapshot());
  }

  snapshot(): UploadProgress {
    return {
      bytesUploaded: this.#bytes,
      totalBytes: this.#totalBytes,
      partsCompleted: this.#partsCompleted,
      totalParts: this.#totalParts,
    };
  }
}
