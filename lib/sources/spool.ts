import { randomUUID } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpoolError } from '../errors';
import type { PartSource } from './part-source';
import { readFully, systemCode, writevFully } from './file-io';
import { BLOCK_BYTES, MemoryBlocks } from './memory-blocks';
import { StagedFileWriter } from './staged-file-writer';

/**
 * A spool's settings: the stream's `spool` option once validated, its default filled in
 * (`UploadSpoolOptions` documents each field for users).
 */
export interface SpoolOptions {
  /** Bytes kept in memory before spilling to disk (0 to 2 147 483 647; 0: straight to disk). */
  memory: number;
  /** Where the spill file goes; default os.tmpdir(). */
  dir?: string;
  /** The most bytes the source may have (a safe integer ≥ 1); default no limit. */
  maxBytes?: number;
}

/** What the `'spool'` event carries while a source of unknown size is spooled. */
export interface SpoolProgress {
  /** Bytes of the source spooled so far (at the last report: all of it). */
  bytes: number;
  /** Whether the spool has moved to its temp file: the source outgrew `spool.memory`. */
  onDisk: boolean;
}

const REPORT_EVERY = 1024 * 1024;
// POSIX lets an open file outlive its name: unlinked at once, it is gone even after SIGKILL.
const UNLINK_WHILE_OPEN = process.platform !== 'win32';

/**
 * Turns a live stream of unknown size into a seekable source: up to `memory` bytes in memory,
 * then everything in one temp file (created exclusively, mode 0600, unlinked right after
 * opening where the system allows it). On disk, chunks are copied into two 1 MiB staging
 * buffers (two of memory's blocks, reused) and written a buffer at a time, so the disk sees
 * 1 MiB writes whatever the chunk size. `write` takes a chunk at once while a buffer has room,
 * and holds the caller only while a write is in flight and the other buffer is full, so
 * backpressure holds and the spool's memory is bounded (`memory`, or 2 MiB once on disk).
 * `finish` hands out a PartSource once the stream has ended, and `close` leaves nothing behind
 * on every path.
 */
export class Spool {
  readonly #options: SpoolOptions;
  readonly #onProgress: (progress: SpoolProgress) => void;
  readonly #onFailure: (error: SpoolError) => void;
  readonly #memory: MemoryBlocks;
  #bytes = 0;
  #reported = 0;
  /** Set once the spool spills (the file may still be opening). */
  #spilling = false;
  #writer: StagedFileWriter | undefined;
  #file: FileHandle | undefined;
  /** Set while the file still has a name to remove (systems that cannot unlink an open file). */
  #path: string | undefined;
  #failure: SpoolError | undefined;
  #closed = false;

  /**
   * @param onFailure a disk write failed after its chunk's caller was let go (the next `write`
   *   or `finish` throws it too): the owner fails at once rather than at the next chunk
   */
  constructor(options: SpoolOptions, onProgress: (progress: SpoolProgress) => void, onFailure: (error: SpoolError) => void = () => undefined) {
    this.#options = options;
    this.#onProgress = onProgress;
    this.#onFailure = onFailure;
    this.#memory = new MemoryBlocks(options.memory);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get onDisk(): boolean {
    return this.#spilling;
  }

  /** Undefined when the chunk was taken at once (copied), else a promise for when it is. */
  write(chunk: Buffer): Promise<void> | undefined {
    const { maxBytes } = this.#options;
    if (maxBytes !== undefined && this.#bytes + chunk.length > maxBytes) {
      throw new SpoolError({ reason: 'limit', limit: maxBytes });
    }
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) throw closedError();
    if (!this.#spilling && this.#memory.fits(chunk.length)) {
      this.#memory.append(chunk);
      this.#advance(chunk.length);
      return undefined;
    }
    if (this.#writer === undefined) return this.#spill(chunk);
    const pending = this.#writer.write(chunk);
    if (pending === undefined) {
      this.#advance(chunk.length);
      return undefined;
    }
    return pending.then(() => this.#advance(chunk.length));
  }

  /** Opens the spill file, moves what memory held into it (one writev), then takes `chunk`. */
  async #spill(chunk: Buffer): Promise<void> {
    this.#spilling = true;
    const path = join(this.#options.dir ?? tmpdir(), `ofauth-spool-${randomUUID()}`);
    let file: FileHandle;
    try {
      file = await open(path, 'wx+', 0o600);
    } catch (error) {
      throw this.#failed(error);
    }
    this.#file = file;
    this.#path = path;
    try {
      if (UNLINK_WHILE_OPEN) {
        await unlink(path);
        this.#path = undefined;
      }
      if (this.#closed) throw new Error('the spool was closed while opening');
      const held = this.#memory.bytes;
      await writevFully(file, this.#memory.filled(), 0);
      if (this.#closed) throw new Error('the spool was closed while spilling');
      const reused = this.#memory.release(2);
      const stage = reused[0] ?? Buffer.allocUnsafe(BLOCK_BYTES);
      const spare = reused[1] ?? Buffer.allocUnsafe(BLOCK_BYTES);
      this.#writer = new StagedFileWriter(file, held, [stage, spare], (error) => {
        this.#failure ??= error;
        this.#onFailure(error);
      });
    } catch (error) {
      await this.close();
      throw this.#failed(error);
    }
    this.#onProgress({ bytes: this.#bytes, onDisk: true });
    await this.#writer.write(chunk);
    this.#advance(chunk.length);
  }

  /** Remembers the first failure (typed) and returns it. */
  #failed(error: unknown): SpoolError {
    this.#failure ??= error instanceof SpoolError ? error : new SpoolError({ reason: 'disk', systemCode: systemCode(error), cause: error });
    return this.#failure;
  }

  #advance(n: number): void {
    this.#bytes += n;
    if (this.#bytes - this.#reported >= REPORT_EVERY) {
      this.#reported = this.#bytes;
      this.#onProgress({ bytes: this.#bytes, onDisk: this.onDisk });
    }
  }

  /** The spooled bytes as a seekable source; the spool must not be written to afterwards. */
  async finish(): Promise<PartSource> {
    this.#onProgress({ bytes: this.#bytes, onDisk: this.onDisk });
    const size = this.#bytes;
    if (!this.#spilling) {
      const memory = this.#memory;
      return {
        size,
        read: async (into, position) => memory.read(into, position),
        close: async () => {
          memory.release();
        },
      };
    }
    if (this.#failure !== undefined) throw this.#failure;
    const file = this.#file;
    if (this.#writer === undefined || file === undefined) throw closedError();
    await this.#writer.finish();
    return {
      size,
      read: async (into, position) => {
        try {
          await readFully(file, into, position);
        } catch (error) {
          throw new SpoolError({ reason: 'disk', systemCode: systemCode(error), cause: error });
        }
      },
      close: () => this.close(),
    };
  }

  /** Closes and removes the spill file (if any) and drops what memory held. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#memory.release();
    this.#writer?.release();
    const file = this.#file;
    this.#file = undefined;
    // FileHandle.close waits for the reads and writes still running on it.
    await file?.close().catch(() => undefined);
    const path = this.#path;
    this.#path = undefined;
    if (path !== undefined) await unlink(path).catch(() => undefined);
  }
}

/** A write or finish after close: the spool and its file are gone. */
function closedError(): SpoolError {
  return new SpoolError({ reason: 'disk', systemCode: 'EBADF', cause: new Error('the spool is closed') });
}
