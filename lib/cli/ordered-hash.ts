import { createHash, type Hash } from 'node:crypto';

/**
 * The sha256 of a source whose ranges are read out of order (a ranged download, parts read in
 * parallel): bytes at the hash's position are hashed at once, bytes further on are copied and
 * kept until the gap before them is filled, bytes already hashed (a range read again for a
 * retried part) are ignored. Past `maxPending` kept bytes it gives up (`digest` is undefined)
 * rather than hold a second copy of the upload; so it does when ranges were never read (parts
 * a resumed upload skipped).
 */
export class OrderedHash {
  readonly #hash: Hash = createHash('sha256');
  readonly #size: number;
  readonly #maxPending: number;
  readonly #pending = new Map<number, Buffer>();
  #pendingBytes = 0;
  #position = 0;
  #abandoned = false;

  constructor(size: number, maxPending: number) {
    this.#size = size;
    this.#maxPending = maxPending;
  }

  add(position: number, chunk: Uint8Array): void {
    if (this.#abandoned) return;
    const end = position + chunk.length;
    if (end <= this.#position) return;
    if (position > this.#position) {
      if (this.#pending.has(position)) return;
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes > this.#maxPending) {
        this.#abandon();
        return;
      }
      this.#pending.set(position, Buffer.from(chunk));
      return;
    }
    this.#take(chunk.subarray(this.#position - position));
    // Each round hashes one kept chunk: bounded by the chunks kept.
    for (let next = this.#pending.get(this.#position); next !== undefined; next = this.#pending.get(this.#position)) {
      this.#pending.delete(this.#position);
      this.#pendingBytes -= next.length;
      this.#take(next);
    }
  }

  #take(bytes: Uint8Array): void {
    this.#hash.update(bytes);
    this.#position += bytes.length;
  }

  #abandon(): void {
    this.#abandoned = true;
    this.#pending.clear();
    this.#pendingBytes = 0;
  }

  /** Hex sha256 of the whole source, or undefined when not every byte was seen in order. */
  digest(): string | undefined {
    if (this.#abandoned || this.#position !== this.#size) return undefined;
    return this.#hash.digest('hex');
  }
}
