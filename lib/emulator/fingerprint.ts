import { createHash } from 'node:crypto';

/** What a part's etag is computed from. */
export interface Fingerprint {
  update(chunk: Buffer): void;
  /** Hex digest; call once. */
  digest(): string;
}

const SAMPLE = 64 * 1024;

/**
 * md5 of the first 64 KiB, the last 64 KiB and the length: constant work per part, for
 * `hashing: 'sha256' | 'none'`, where a full md5 (about 700 MB/s on one core) would cap
 * benchmark throughput. Independent of how the network chunks the body, so a retry with the
 * same bytes gets the same etag.
 */
class SampledFingerprint implements Fingerprint {
  private readonly md5 = createHash('md5');
  private head = 0;
  private length = 0;
  /** The most recent chunks, trimmed so that dropping the oldest would leave less than SAMPLE. */
  private tail: Buffer[] = [];
  private tailBytes = 0;

  update(chunk: Buffer): void {
    this.length += chunk.length;
    if (this.head < SAMPLE) {
      const take = chunk.subarray(0, SAMPLE - this.head);
      this.md5.update(take);
      this.head += take.length;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    for (let oldest = this.tail[0]; oldest && this.tailBytes - oldest.length >= SAMPLE; oldest = this.tail[0]) {
      this.tail.shift();
      this.tailBytes -= oldest.length;
    }
  }

  digest(): string {
    const tail = Buffer.concat(this.tail);
    this.md5.update(tail.subarray(Math.max(0, tail.length - SAMPLE)));
    this.md5.update(`:${this.length}`);
    this.tail = [];
    return this.md5.digest('hex');
  }
}

class Md5Fingerprint implements Fingerprint {
  private readonly md5 = createHash('md5');

  update(chunk: Buffer): void {
    this.md5.update(chunk);
  }

  digest(): string {
    return this.md5.digest('hex');
  }
}

export function createFingerprint(fullMd5: boolean): Fingerprint {
  return fullMd5 ? new Md5Fingerprint() : new SampledFingerprint();
}
