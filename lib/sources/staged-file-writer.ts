import type { FileHandle } from 'node:fs/promises';
import { SpoolError } from '../errors';
import { systemCode, writeFully } from './file-io';

/**
 * Appends to a file through two staging buffers: chunks are copied into one while the other is
 * on its way to disk, and a buffer goes to disk only once full (or at `finish`). However small
 * the chunks, the disk sees writes of a staging buffer's size, and the caller is held only when
 * a write is in flight and the buffer it fills is full too.
 *
 * Why: a disk write per chunk held every chunk's caller for a system call and a promise. Behind an
 * undici download that costs more than the call: each held chunk makes undici pause its parser
 * and later re-read everything its socket buffered since, so the time grew with the square of
 * the size (issue 26: 60 MB in 16 KiB pieces took 16.5 s, 120 MB 82 s).
 */
export class StagedFileWriter {
  readonly #file: FileHandle;
  readonly #onFailure: (error: SpoolError) => void;
  #stage: Buffer;
  /** The other buffer; undefined while it is being written. */
  #spare: Buffer | undefined;
  #staged = 0;
  /** Where the next disk write goes: the bytes handed to the disk so far. */
  #position: number;
  #writing: Promise<void> | undefined;
  #failure: SpoolError | undefined;
  #released = false;

  /**
   * @param position where the file's content ends (what was written before)
   * @param buffers the two staging buffers, of equal size
   * @param onFailure a write failed while no caller was waiting for it
   */
  constructor(file: FileHandle, position: number, buffers: readonly [Buffer, Buffer], onFailure: (error: SpoolError) => void) {
    this.#file = file;
    this.#position = position;
    [this.#stage, this.#spare] = buffers;
    this.#onFailure = onFailure;
  }

  /** Undefined when `chunk` was copied at once; else a promise for when it is (a write had to end first). */
  write(chunk: Uint8Array): Promise<void> | undefined {
    this.#throwIfFailed();
    const taken = this.#copy(chunk, 0);
    return taken === chunk.length ? undefined : this.#writeRest(chunk, taken);
  }

  async #writeRest(chunk: Uint8Array, from: number): Promise<void> {
    let taken = from;
    // Each round waits for the write in flight, which frees a buffer: at least one byte is copied.
    while (taken < chunk.length) {
      await this.#writing;
      this.#throwIfFailed();
      taken = this.#copy(chunk, taken);
    }
  }

  /** Copies from `chunk[from]` until it is all staged or both buffers are taken; returns where it stopped. */
  #copy(chunk: Uint8Array, from: number): number {
    if (this.#released) throw new Error('StagedFileWriter: written to after release');
    let at = from;
    while (at < chunk.length) {
      if (this.#staged === this.#stage.length) {
        if (this.#writing !== undefined) return at;
        this.#flush();
      }
      const n = Math.min(chunk.length - at, this.#stage.length - this.#staged);
      this.#stage.set(chunk.subarray(at, at + n), this.#staged);
      this.#staged += n;
      at += n;
    }
    // A full buffer goes at once, so the next chunk finds an empty one rather than waiting.
    if (this.#staged === this.#stage.length && this.#writing === undefined) this.#flush();
    return at;
  }

  /** Hands the staged bytes to the disk and swaps buffers; only while no write is in flight. */
  #flush(): void {
    const buffer = this.#stage;
    const length = this.#staged;
    const position = this.#position;
    this.#position += length;
    this.#stage = this.#spare!;
    this.#spare = undefined;
    this.#staged = 0;
    this.#writing = writeFully(this.#file, buffer.subarray(0, length), position)
      .then(
        () => {
          if (!this.#released) this.#spare = buffer;
        },
        (error: unknown) => {
          this.#failure ??= new SpoolError({ reason: 'disk', systemCode: systemCode(error), cause: error });
          this.#onFailure(this.#failure);
        },
      )
      .finally(() => {
        this.#writing = undefined;
      });
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Writes what is staged and waits for the disk; resolves with the file's size. */
  async finish(): Promise<number> {
    await this.#writing;
    this.#throwIfFailed();
    if (this.#staged > 0) {
      this.#flush();
      await this.#writing;
      this.#throwIfFailed();
    }
    this.release();
    return this.#position;
  }

  /** Drops the buffers (a write in flight keeps its own until it ends). */
  release(): void {
    this.#released = true;
    this.#stage = EMPTY;
    this.#spare = EMPTY;
    this.#staged = 0;
  }
}

const EMPTY = Buffer.alloc(0);
