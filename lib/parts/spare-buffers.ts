/**
 * Part buffers an ended upload no longer needs, for the next upload in this process to fill
 * instead of allocating its own. Filling a new multi-MiB buffer touches every page of it for the
 * first time, and each first touch is a page fault the kernel answers with a zeroed page: for
 * the default 5 × 8 MiB that is 10 240 faults per upload, measured at 0.04–0.1 CPU-s per upload
 * on Node 24 (about what copying 512 MiB into those buffers costs). A worker or a CLI batch
 * sending one file after another pays it once, unless a full collection came in between.
 *
 * Held weakly: the next full (major) garbage collection frees the spares nobody took, and their
 * bookkeeping with them, so a process that has stopped uploading returns to its memory as before.
 * (A minor collection treats weak targets as strong: spares outlive those, as the live buffers of
 * an upload would.) Back-to-back uploads find them still there.
 */
export class SpareBuffers {
  /** Weak references by byte length; a spare serves only a pool of its exact size. */
  readonly #bySize = new Map<number, WeakRef<Buffer>[]>();
  readonly #maxPerSize: number;
  /**
   * Each buffer's one weak reference, made (and registered below) the first time it is kept: a
   * buffer kept, taken and kept again by upload after upload is registered once, not once per
   * upload, or the registry's cells would grow for the life of a long-running process.
   */
  readonly #refs = new WeakMap<Buffer, WeakRef<Buffer>>();
  /** Forgets a spare the GC took, so sizes nobody asks for again leave no entry behind. */
  readonly #collected = new FinalizationRegistry<{ size: number; ref: WeakRef<Buffer> }>(({ size, ref }) => this.#forget(size, ref));

  constructor(maxPerSize = 64) {
    this.#maxPerSize = maxPerSize;
  }

  /** A spare of exactly `size` bytes, if one is still alive. */
  take(size: number): Buffer | undefined {
    const list = this.#bySize.get(size);
    if (list === undefined) return undefined;
    let buffer: Buffer | undefined;
    // A taken spare keeps its registration (and its ref, for its next keep): if it is ever
    // collected, forgetting a ref that is no longer listed is a no-op.
    while (buffer === undefined && list.length > 0) buffer = list.pop()!.deref();
    if (list.length === 0) this.#bySize.delete(size);
    return buffer;
  }

  #forget(size: number, ref: WeakRef<Buffer>): void {
    const list = this.#bySize.get(size);
    if (list === undefined) return;
    const at = list.indexOf(ref);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#bySize.delete(size);
  }

  /** Keeps `buffers` (no longer used by anyone) for a later `take`, as long as the GC lets them live. */
  keep(buffers: readonly Buffer[]): void {
    for (const buffer of buffers) {
      let list = this.#bySize.get(buffer.length);
      if (list === undefined) this.#bySize.set(buffer.length, (list = []));
      // Collected spares leave their list through #forget, so a full list is a live one.
      else if (list.length >= this.#maxPerSize) continue;
      let ref = this.#refs.get(buffer);
      if (ref === undefined) {
        ref = new WeakRef(buffer);
        this.#refs.set(buffer, ref);
        this.#collected.register(buffer, { size: buffer.length, ref });
      } else if (list.includes(ref)) continue;
      list.push(ref);
    }
  }

  /** Buffer sizes with an entry (for tests: it must not grow with sizes whose spares are gone). */
  get sizes(): number {
    return this.#bySize.size;
  }

  /** Live spares of `size` bytes (for tests and diagnostics). */
  count(size: number): number {
    return this.#bySize.get(size)?.filter((ref) => ref.deref() !== undefined).length ?? 0;
  }
}

/** The process's one set of spares, shared by every upload's pool. */
export const spareBuffers = new SpareBuffers();
