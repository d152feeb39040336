/** The largest block: also the size of the spool's disk writes, so a full block can be reused as a staging buffer. */
export const BLOCK_BYTES = 1024 * 1024;
/** The first block: a small source does not cost a whole MiB. */
const FIRST_BLOCK_BYTES = 64 * 1024;

/**
 * Up to `limit` bytes held in memory, copied in as they come. Blocks double from 64 KiB to
 * 1 MiB, so a small source costs little, a large one is a few big blocks (written to disk in one
 * `writev` when it spills), and nothing is ever concatenated: a 4 KiB chunk costs one copy,
 * however much is held already.
 */
export class MemoryBlocks {
  readonly #limit: number;
  #blocks: Buffer[] = [];
  /** Where each block starts in the stream. */
  #starts: number[] = [];
  #bytes = 0;
  #capacity = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Whether `n` more bytes stay within the limit. */
  fits(n: number): boolean {
    return this.#bytes + n <= this.#limit;
  }

  /** Copies `chunk` in (the caller may reuse it at once); it must fit. */
  append(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#bytes === this.#capacity) this.#grow();
      const block = this.#blocks.at(-1)!;
      const offset = this.#bytes - this.#starts.at(-1)!;
      const n = Math.min(chunk.length - at, block.length - offset);
      block.set(chunk.subarray(at, at + n), offset);
      at += n;
      this.#bytes += n;
    }
  }

  #grow(): void {
    const last = this.#blocks.at(-1)?.length ?? 0;
    const size = Math.min(BLOCK_BYTES, Math.max(FIRST_BLOCK_BYTES, last * 2), this.#limit - this.#capacity);
    if (size <= 0) throw new RangeError('MemoryBlocks: append beyond the limit');
    this.#blocks.push(Buffer.allocUnsafe(size));
    this.#starts.push(this.#capacity);
    this.#capacity += size;
  }

  /** Copies `into.length` bytes from `position` (within what is held) into `into`. */
  read(into: Uint8Array, position: number): void {
    let done = 0;
    // Blocks are few (limit / 1 MiB + 5): a scan is cheaper than it reads.
    for (let i = 0; i < this.#blocks.length && done < into.length; i++) {
      const start = this.#starts[i]!;
      const block = this.#blocks[i]!;
      const from = position + done - start;
      if (from < 0 || from >= block.length) continue;
      const n = Math.min(into.length - done, block.length - from);
      into.set(block.subarray(from, from + n), done);
      done += n;
    }
  }

  /** What is held, block by block, in order (the last cut to its filled part). */
  filled(): Buffer[] {
    return this.#blocks.map((block, i) => block.subarray(0, Math.max(0, Math.min(block.length, this.#bytes - this.#starts[i]!))));
  }

  /** Forgets what is held; returns up to `count` whole 1 MiB blocks for the caller to reuse. */
  release(count = 0): Buffer[] {
    const reusable = this.#blocks.filter((block) => block.length === BLOCK_BYTES).slice(0, count);
    this.#blocks = [];
    this.#starts = [];
    this.#bytes = 0;
    this.#capacity = 0;
    return reusable;
  }
}
