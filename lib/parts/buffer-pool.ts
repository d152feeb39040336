import { type SpareBuffers, spareBuffers } from './spare-buffers';
import { Waiters } from './waiters';

/**
 * Part buffers, recycled. A fresh multi-MiB allocation per part roughly halves throughput and
 * leaves dead buffers waiting for GC (measured: +60 MiB RSS); a pool of `concurrency + 1`
 * buffers bounds memory and makes the pool itself the backpressure point: when every buffer
 * is in flight or full, `acquire` waits, and so does the Writable's callback.
 */
export class BufferPool {
  readonly bufferSize: number;
  readonly capacity: number;
  #free: Buffer[] = [];
  #created = 0;
  #retired = false;
  readonly #waiters = new Waiters<Buffer>();
  readonly #spares: SpareBuffers | null;

  /** `spares`: where to take buffers from and leave them at the end; null for neither. */
  constructor(bufferSize: number, capacity: number, spares: SpareBuffers | null = spareBuffers) {
    this.bufferSize = bufferSize;
    this.capacity = capacity;
    this.#spares = spares;
  }

  /**
   * Buffers brought into use so far, new or spare (lazily: a small upload takes one). Never
   * more than `capacity`, wherever they came from: the memory bound is per pool.
   */
  get created(): number {
    return this.#created;
  }

  tryAcquire(): Buffer | undefined {
    const recycled = this.#free.pop();
    if (recycled !== undefined) return recycled;
    if (this.#created >= this.capacity) return undefined;
    this.#created++;
    // Slow (unpooled) allocation: these are long-lived, and every byte sent is written first.
    return this.#spares?.take(this.bufferSize) ?? Buffer.allocUnsafeSlow(this.bufferSize);
  }

  /** A buffer, waiting for one to be released if all are in use; rejects when `signal` aborts. */
  acquire(signal: AbortSignal): Promise<Buffer> {
    const ready = this.tryAcquire();
    if (ready !== undefined) return Promise.resolve(ready);
    return this.#waiters.wait(signal);
  }

  release(buffer: Buffer): void {
    // After retire, a late release (a part that failed while the upload ended) is dropped.
    if (this.#retired) return;
    if (!this.#waiters.wakeOne(buffer)) this.#free.push(buffer);
  }

  /**
   * The upload is over: its free buffers become spares for the next upload. Only buffers
   * released back here qualify (a part acknowledged, a read that failed); one still held by a
   * request or a half-filled part never leaves this pool.
   */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#spares?.keep(this.#free);
    this.#free = [];
  }
}
