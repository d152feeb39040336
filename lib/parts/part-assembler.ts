import type { BufferPool } from './buffer-pool';
import { type FilledPart, bufferBody } from './part-body';
import { type PlanPart, partLength } from '../plan';

/**
 * The pushed side: cuts incoming chunks, whatever their sizes, at the plan's byteRanges. Each
 * byte is copied once, into a pooled part buffer; no view of the caller's chunk outlives `write`.
 */
export class PartAssembler {
  readonly #parts: readonly PlanPart[];
  readonly #pool: BufferPool;
  readonly #onPart: (filled: FilledPart) => void;
  #index = 0;
  #current: Buffer | undefined;
  #filled = 0;

  constructor(parts: readonly PlanPart[], pool: BufferPool, onPart: (filled: FilledPart) => void) {
    this.#parts = parts;
    this.#pool = pool;
    this.#onPart = onPart;
  }

  /**
   * Copies `chunk` into part buffers. Returns undefined when done synchronously (the hot path:
   * no promise per chunk), or a promise when it had to wait for a free buffer or handed a part
   * over. The caller must not pass more bytes than the plan holds.
   */
  write(chunk: Uint8Array, signal: AbortSignal): Promise<void> | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      const part = this.#parts[this.#index];
      if (part === undefined) throw new RangeError('more bytes than the plan holds');
      if (this.#current === undefined) {
        const buffer = this.#pool.tryAcquire();
        if (buffer === undefined) return this.#writeAfterWait(chunk, offset, signal);
        this.#current = buffer;
        this.#filled = 0;
      }
      const length = partLength(part);
      const n = Math.min(length - this.#filled, chunk.length - offset);
      // The common case, a whole chunk that fits, needs no subarray view (measured 5-15 % faster
      // copies for 16 KiB chunks).
      this.#current.set(n === chunk.length ? chunk : chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === length) {
        const buffer = this.#current;
        this.#current = undefined;
        this.#index++;
        this.#onPart({ part, body: bufferBody(buffer.subarray(0, length)), release: () => this.#pool.release(buffer) });
        // Turns of the event loop before the next part: the one just handed over gets its
        // request out now. Without them a fast source fills every free buffer first (up to
        // concurrency + 1 parts, tens of ms, more under load) while no request leaves, and the
        // first parts' connections open that much later.
        return this.#writeAfterTurns(chunk, offset, signal);
      }
    }
    return undefined;
  }

  async #writeAfterTurns(chunk: Uint8Array, offset: number, signal: AbortSignal): Promise<void> {
    // Two: a request right after an answer waits one turn for its connection (http.ts), and
    // the part handed over first should be the first to leave.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) throw signal.reason;
    if (offset < chunk.length) await this.write(chunk.subarray(offset), signal);
  }

  async #writeAfterWait(chunk: Uint8Array, offset: number, signal: AbortSignal): Promise<void> {
    this.#current = await this.#pool.acquire(signal);
    this.#filled = 0;
    await this.write(chunk.subarray(offset), signal);
  }
}
