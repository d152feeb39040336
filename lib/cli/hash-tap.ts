import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Hashes the bytes on their way into the upload: the source is read once, so the sha256 is of
 * exactly what was sent, with no second read (stdin could not be read twice anyway).
 */
export class HashTap extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    callback(null, chunk);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Hex sha256 of everything that passed; call once, after the pipeline finished. */
  digest(): string {
    return this.#hash.digest('hex');
  }
}
