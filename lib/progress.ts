import type { UploadProgress } from './options';

/**
 * Request bodies are handed to the socket in slices of at most this many bytes. Progress is
 * reported per slice, which is where its "at least every MiB" granularity comes from.
 */
export const BODY_SLICE_BYTES = 1024 * 1024;

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

  get totalBytes(): number {
    return this.#totalBytes;
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

  /** Parts a resumed upload already has in the vault: counted as done, with one report. */
  resumeFrom(parts: ReadonlyArray<{ partNumber: number; length: number }>): void {
    for (const { partNumber, length } of parts) {
      this.#reported.set(partNumber, length);
      this.#bytes += length;
      this.#partsCompleted++;
    }
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
