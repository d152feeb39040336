import { createHash, type Hash } from 'node:crypto';
import { FlowGate } from './body';
import { createFingerprint, type Fingerprint } from './fingerprint';

/** Where held (not yet hashable) part bytes are accounted, for stats.heldBytes. */
export interface HeldBytesMeter {
  hold(bytes: number): void;
  release(bytes: number): void;
}

/**
 * How a part body is received:
 * - 'stream': it is the next part to hash, so it feeds a copy of the running sha256 as it arrives
 *   and holds nothing; the copy replaces the running hash only if the part is accepted.
 * - 'buffer': earlier parts are still missing, so its chunks are held until it can be hashed.
 * - 'verify': the part was already accepted; only its fingerprint matters (same bytes or conflict).
 * Without a whole-media hash (hashing 'none') every sink streams with no candidate: nothing is held.
 */
export type SinkMode = 'stream' | 'buffer' | 'verify';

/**
 * How many parts past the next-to-hash one may be received while the next one is arriving.
 * Parts further ahead are paused (their `gate` closes) until the gap narrows, so at most this many
 * parts are ever held for ordering, whatever the client's concurrency. Without this, a client at
 * concurrency 4 over loopback routinely finishes a dozen later parts while the next one crawls.
 */
export const DEFAULT_MAX_PARTS_AHEAD = 3;

export class PartSink {
  readonly fingerprint: Fingerprint;
  mode: SinkMode;
  candidate: Hash | undefined;
  chunks: Buffer[] = [];
  bytes = 0;
  /** Bytes of `chunks` counted in the meter (only while buffering for order). */
  heldBytes = 0;
  /** Closed while the part is too far ahead of the next one to hash: its reader must pause. */
  readonly gate = new FlowGate();

  constructor(
    readonly partNumber: number,
    mode: SinkMode,
    candidate: Hash | undefined,
    private readonly keepChunks: boolean,
    private readonly meter: HeldBytesMeter,
    fullMd5: boolean,
  ) {
    this.mode = mode;
    this.candidate = candidate;
    this.fingerprint = createFingerprint(fullMd5);
  }

  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.fingerprint.update(chunk);
    if (this.mode === 'stream') {
      this.candidate?.update(chunk);
      if (this.keepChunks) this.chunks.push(chunk);
    } else if (this.mode === 'buffer') {
      this.chunks.push(chunk);
      this.heldBytes += chunk.length;
      this.meter.hold(chunk.length);
    }
  }

  /** Becomes the next part to hash while its body is still arriving: catch up and stop holding. */
  promote(candidate: Hash): void {
    for (const chunk of this.chunks) candidate.update(chunk);
    this.candidate = candidate;
    this.mode = 'stream';
    this.meter.release(this.heldBytes);
    this.heldBytes = 0;
    if (!this.keepChunks) this.chunks = [];
  }

  dispose(): void {
    this.gate.set(false);
    this.meter.release(this.heldBytes);
    this.heldBytes = 0;
    this.chunks = [];
    this.candidate = undefined;
  }
}

/**
 * sha256 of the whole media, fed strictly in part order while parts arrive in any order.
 * Only parts that cannot be hashed yet are held. While the next part is arriving, parts more than
 * `maxPartsAhead` past it are paused, so at most `maxPartsAhead` parts are held. Nothing is paused
 * while the next part is not being received: the client may be waiting on those very requests
 * before it sends it (a retry, a reversed order), and pausing them would deadlock.
 */
export interface OrderedHasherOptions {
  wholeHash: boolean;
  fullMd5: boolean;
  maxPartsAhead?: number;
  /** Most parts held (waiting, or receiving out of order) at once; see `mustRefuse`. Default Infinity. */
  maxHeldParts?: number;
}

export class OrderedHasher {
  private running: Hash = createHash('sha256');
  private next = 1;
  /** Accepted parts waiting for an earlier one: their chunks and held byte count. */
  private readonly waiting = new Map<number, { chunks: Buffer[]; held: number }>();
  private readonly open = new Set<PartSink>();
  private disposed = false;

  constructor(
    private readonly keepChunks: boolean,
    private readonly meter: HeldBytesMeter,
    private readonly options: OrderedHasherOptions = { wholeHash: true, fullMd5: true },
  ) {}

  private get maxPartsAhead(): number {
    return this.options.maxPartsAhead ?? DEFAULT_MAX_PARTS_AHEAD;
  }

  /** Parts held for ordering or being received to be held: accepted ones waiting, and open 'buffer' sinks. */
  get heldParts(): number {
    let receiving = 0;
    for (const sink of this.open) if (sink.mode === 'buffer') receiving += 1;
    return this.waiting.size + receiving;
  }

  /**
   * True when receiving this part now would make it one part too many to hold: it is neither the
   * next part to hash nor already accepted, and `maxHeldParts` parts are already held. Decided
   * before the body is read, so a refused part costs nothing; the next part is never refused, so
   * the gap can always close.
   */
  mustRefuse(partNumber: number, alreadyAccepted: boolean): boolean {
    if (!this.options.wholeHash || alreadyAccepted || partNumber === this.next) return false;
    return this.heldParts >= (this.options.maxHeldParts ?? Infinity);
  }

  openSink(partNumber: number, alreadyAccepted: boolean): PartSink {
    const sink = alreadyAccepted
      ? this.sink(partNumber, 'verify', undefined, false)
      : !this.options.wholeHash
        ? this.sink(partNumber, 'stream', undefined, this.keepChunks)
        : partNumber === this.next
          ? this.sink(partNumber, 'stream', this.running.copy(), this.keepChunks)
          : this.sink(partNumber, 'buffer', undefined, this.keepChunks);
    this.open.add(sink);
    this.regate();
    return sink;
  }

  private sink(partNumber: number, mode: SinkMode, candidate: Hash | undefined, keepChunks: boolean): PartSink {
    return new PartSink(partNumber, mode, candidate, keepChunks, this.meter, this.options.fullMd5);
  }

  /** The sink's part is accepted for the first time: hash it now or hold it until its turn. */
  accept(sink: PartSink): void {
    this.open.delete(sink);
    sink.gate.set(false);
    if (this.disposed) {
      sink.dispose();
      return;
    }
    if (!this.options.wholeHash) {
      sink.chunks = [];
      return;
    }
    if (sink.mode === 'stream' && sink.candidate && sink.partNumber === this.next) {
      this.running = sink.candidate;
      this.next += 1;
      sink.candidate = undefined;
    } else if (sink.partNumber === this.next) {
      for (const chunk of sink.chunks) this.running.update(chunk);
      this.meter.release(sink.heldBytes);
      this.next += 1;
    } else {
      this.waiting.set(sink.partNumber, { chunks: sink.chunks, held: sink.heldBytes });
    }
    sink.heldBytes = 0;
    sink.chunks = [];
    this.drainWaiting();
  }

  discard(sink: PartSink): void {
    this.open.delete(sink);
    sink.dispose();
    this.regate();
  }

  /** The session is forgotten: release what is held, and hold nothing that arrives later. */
  dispose(): void {
    this.disposed = true;
    for (const { held } of this.waiting.values()) this.meter.release(held);
    this.waiting.clear();
    for (const sink of this.open) sink.dispose();
  }

  /** Number of parts hashed so far (all of them once `next` is past the last). */
  get hashedParts(): number {
    return this.next - 1;
  }

  /** undefined when the whole-media hash is off. */
  digest(): string | undefined {
    return this.options.wholeHash ? this.running.copy().digest('hex') : undefined;
  }

  private drainWaiting(): void {
    for (let ready = this.waiting.get(this.next); ready; ready = this.waiting.get(this.next)) {
      for (const chunk of ready.chunks) this.running.update(chunk);
      this.meter.release(ready.held);
      this.waiting.delete(this.next);
      this.next += 1;
    }
    for (const sink of this.open) {
      if (sink.mode === 'buffer' && sink.partNumber === this.next) sink.promote(this.running.copy());
    }
    this.regate();
  }

  /**
   * Opens or closes every open sink's gate: a buffering part is paused while the next part is
   * being received and it is more than `maxPartsAhead` past it. Called whenever the open sinks or
   * the next part change; a handful of sinks at most, so the scan costs nothing.
   */
  private regate(): void {
    if (!this.options.wholeHash) return;
    let nextArriving = false;
    for (const sink of this.open) if (sink.mode === 'stream' && sink.partNumber === this.next) nextArriving = true;
    const limit = this.next + this.maxPartsAhead;
    for (const sink of this.open) sink.gate.set(nextArriving && sink.mode === 'buffer' && sink.partNumber > limit);
  }
}
