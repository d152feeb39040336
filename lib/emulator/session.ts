import { createHash } from 'node:crypto';
import { OrderedHasher, type HeldBytesMeter, type PartSink } from './ordered-hasher';
import type { ByteRange, EmulatorHashing, MediaObject, StoredMedia, StoredPart, UploadType } from './types';

export interface SessionInit {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  uploadType: UploadType | 'planless';
  /** Byte ranges by part number - 1; empty for planless sessions. */
  ranges: ByteRange[];
  expiresAtMs: number;
  keepBytes: boolean;
  hashing: EmulatorHashing;
  meter: HeldBytesMeter;
  /** Parts held for in-order hashing at most (see OrderedHasher.mustRefuse). */
  maxHeldParts: number;
}

interface AcceptedPart extends StoredPart {
  fingerprint: string;
}

export interface Finalized {
  media: MediaObject;
  /** undefined when hashing is 'none'. */
  sha256: string | undefined;
  bytes?: Buffer;
}

export type PartCommit = { kind: 'accepted' | 'duplicate'; etag: string } | { kind: 'conflict'; etag: string; acceptedEtag: string };

/**
 * One upload session as the emulator keeps it: its parts table, what was accepted, and the media
 * once finalized. (The library's `UploadSession` is the validated init answer a client sees.)
 */
export class EmulatedSession {
  readonly id: string;
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  readonly uploadType: UploadType | 'planless';
  readonly expiresAtMs: number;
  private readonly ranges: ByteRange[];
  private readonly keepBytes: boolean;
  private readonly accepted = new Map<number, AcceptedPart>();
  private readonly keptChunks = new Map<number, Buffer[]>();
  private readonly hasher: OrderedHasher;
  finalized: Finalized | undefined;
  /** Epoch ms of finalization; undefined while not finalized. */
  finalizedAtMs: number | undefined;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.filename = init.filename;
    this.contentType = init.contentType;
    this.size = init.size;
    this.uploadType = init.uploadType;
    this.expiresAtMs = init.expiresAtMs;
    this.ranges = init.ranges;
    this.keepBytes = init.keepBytes;
    this.hasher = new OrderedHasher(init.keepBytes, init.meter, {
      wholeHash: init.hashing !== 'none',
      fullMd5: init.hashing === 'full',
      maxHeldParts: init.maxHeldParts,
    });
  }

  get totalParts(): number {
    return this.ranges.length;
  }

  get hasAcceptedParts(): boolean {
    return this.accepted.size > 0;
  }

  isExpired(now = Date.now()): boolean {
    return now >= this.expiresAtMs;
  }

  /** Expected body length of a part, or undefined when the session has no such part. */
  partLength(partNumber: number): number | undefined {
    const range = this.ranges[partNumber - 1];
    return range ? range.end - range.start + 1 : undefined;
  }

  isAccepted(partNumber: number): boolean {
    return this.accepted.has(partNumber);
  }

  /** Receiving this part now would hold more parts than allowed while an earlier one is missing. */
  mustRefusePart(partNumber: number): boolean {
    return this.hasher.mustRefuse(partNumber, this.accepted.has(partNumber));
  }

  /**
   * When the emulator may forget this session: `afterMs` after it was finalized, or after it
   * expired if it never was, whichever comes first.
   */
  forgetAtMs(afterMs: number): number {
    const expired = this.expiresAtMs + afterMs;
    return this.finalizedAtMs === undefined ? expired : Math.min(expired, this.finalizedAtMs + afterMs);
  }

  /** Forgotten: release its held parts (and their count in stats.heldBytes) and unfinalized kept bytes. */
  dispose(): void {
    this.hasher.dispose();
    this.keptChunks.clear();
  }

  openPart(partNumber: number): PartSink {
    return this.hasher.openSink(partNumber, this.accepted.has(partNumber));
  }

  discardPart(sink: PartSink): void {
    this.hasher.discard(sink);
  }

  /** A fully received part. A re-PUT is a retry: same bytes answer the same etag, others conflict. */
  commitPart(sink: PartSink): PartCommit {
    const fingerprint = sink.fingerprint.digest();
    const etag = `"${fingerprint}"`;
    const previous = this.accepted.get(sink.partNumber);
    if (previous) {
      this.hasher.discard(sink);
      return previous.fingerprint === fingerprint ? { kind: 'duplicate', etag } : { kind: 'conflict', etag, acceptedEtag: previous.etag };
    }
    this.accepted.set(sink.partNumber, { partNumber: sink.partNumber, etag, size: sink.bytes, fingerprint });
    if (this.keepBytes) this.keptChunks.set(sink.partNumber, sink.chunks);
    this.hasher.accept(sink);
    return { kind: 'accepted', etag };
  }

  missingParts(): number[] {
    const missing: number[] = [];
    for (let n = 1; n <= this.ranges.length; n += 1) if (!this.accepted.has(n)) missing.push(n);
    return missing;
  }

  /** Finalize from accepted parts; the caller has checked none is missing. */
  finalizeFromParts(makeMedia: () => MediaObject): Finalized {
    if (this.finalized) return this.finalized;
    const sha256 = this.hasher.digest();
    const finalized: Finalized = { media: makeMedia(), sha256 };
    if (this.keepBytes) {
      const chunks: Buffer[] = [];
      for (let n = 1; n <= this.ranges.length; n += 1) chunks.push(...(this.keptChunks.get(n) ?? []));
      finalized.bytes = Buffer.concat(chunks);
      this.keptChunks.clear();
    }
    this.finalized = finalized;
    this.finalizedAtMs = Date.now();
    return finalized;
  }

  /** Finalize from a whole-file PUT, hashed as it streamed in. */
  finalizeWhole(sha256: string | undefined, bytes: Buffer | undefined, makeMedia: () => MediaObject): Finalized {
    if (this.finalized) return this.finalized;
    const finalized: Finalized = { media: makeMedia(), sha256 };
    if (bytes) finalized.bytes = bytes;
    this.finalized = finalized;
    this.finalizedAtMs = Date.now();
    return finalized;
  }

  /** S3-style composite etag of the accepted parts: md5 of the part md5s, then '-N'. */
  compositeEtag(): string | undefined {
    if (this.accepted.size === 0 || this.missingParts().length > 0) return undefined;
    const outer = createHash('md5');
    for (let n = 1; n <= this.ranges.length; n += 1) {
      const part = this.accepted.get(n);
      if (part) outer.update(Buffer.from(part.fingerprint, 'hex'));
    }
    return `${outer.digest('hex')}-${this.ranges.length}`;
  }

  snapshot(): StoredMedia {
    const snapshot: StoredMedia = {
      mediaUploadId: this.id,
      filename: this.filename,
      contentType: this.contentType,
      uploadType: this.uploadType,
      size: this.size,
      expiresAt: new Date(this.expiresAtMs).toISOString(),
      parts: [...this.accepted.values()]
        .sort((a, b) => a.partNumber - b.partNumber)
        .map(({ partNumber, etag, size }) => ({ partNumber, etag, size })),
      completed: this.finalized !== undefined,
    };
    if (this.finalized) {
      snapshot.media = this.finalized.media;
      if (this.finalized.sha256 !== undefined) snapshot.sha256 = this.finalized.sha256;
      if (this.finalized.bytes) snapshot.bytes = this.finalized.bytes;
    }
    return snapshot;
  }
}
