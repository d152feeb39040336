import { randomUUID } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpoolError } from '../errors';
import type { PartSource } from './part-source';
import { readFully, systemCode, writeFully } from './file-io';

export interface SpoolOptions {
  /** Bytes kept in memory before spilling to disk. */
  memory: number;
  /** Where the spill file goes; default os.tmpdir(). */
  dir?: string;
  /** The most bytes the source may have. */
  maxBytes?: number;
}

export interface SpoolProgress {
  bytes: number;
  onDisk: boolean;
}

const REPORT_EVERY = 1024 * 1024;
// POSIX lets an open file outlive its name: unlinked at once, it is gone even after SIGKILL.
const UNLINK_WHILE_OPEN = process.platform !== 'win32';

/**
 * Turns a live stream of unknown size into a seekable source: up to `memory` bytes in memory,
 * then everything in one temp file (created exclusively, mode 0600, unlinked right after
 * opening where the system allows it). `write` holds the caller until the chunk is in memory or
 * on disk, so backpressure holds while spooling; `finish` hands out a PartSource once the
 * stream has ended, and `close` leaves nothing behind on every path.
 */
export class Spool {
  readonly #options: SpoolOptions;
  readonly #onProgress: (progress: SpoolProgress) => void;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #reported = 0;
  #file: FileHandle | undefined;
  /** Set while the file still has a name to remove (systems that cannot unlink an open file). */
  #path: string | undefined;
  #opening: Promise<FileHandle> | undefined;
  #closed = false;

  constructor(options: SpoolOptions, onProgress: (progress: SpoolProgress) => void) {
    this.#options = options;
    this.#onProgress = onProgress;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get onDisk(): boolean {
    return this.#opening !== undefined;
  }

  /** Undefined when the chunk was copied into memory at once, else a promise for when it is on disk. */
  write(chunk: Buffer): Promise<void> | undefined {
    const { maxBytes, memory } = this.#options;
    if (maxBytes !== undefined && this.#bytes + chunk.length > maxBytes) {
      throw new SpoolError({ reason: 'limit', limit: maxBytes });
    }
    if (this.#opening === undefined && this.#bytes + chunk.length <= memory) {
      // A copy: the caller may reuse its chunk once the write callback ran.
      this.#chunks.push(Buffer.from(chunk));
      this.#advance(chunk.length);
      return undefined;
    }
    return this.#writeToDisk(chunk);
  }

  async #writeToDisk(chunk: Buffer): Promise<void> {
    const file = await (this.#opening ??= this.#spill());
    try {
      // No copy: the write callback waits for this write, so the caller's chunk is ours until then.
      await writeFully(file, chunk, this.#bytes);
    } catch (error) {
      throw new SpoolError({ reason: 'disk', systemCode: systemCode(error), cause: error });
    }
    this.#advance(chunk.length);
  }

  /** Opens the spill file and moves what memory held into it. */
  async #spill(): Promise<FileHandle> {
    const path = join(this.#options.dir ?? tmpdir(), `ofauth-spool-${randomUUID()}`);
    let file: FileHandle;
    try {
      file = await open(path, 'wx+', 0o600);
    } catch (error) {
      throw new SpoolError({ reason: 'disk', systemCode: systemCode(error), cause: error });
    }
    this.#file = file;
    this.#path = path;
    try {
      if (UNLINK_WHILE_OPEN) {
        await unlink(path);
        this.#path = undefined;
      }
      if (this.#closed) throw new Error('the spool was closed while opening');
      let position = 0;
      for (const chunk of this.#chunks) {
        await writeFully(file, chunk, position);
        position += chunk.length;
      }
    } catch (error) {
      await this.close();
      throw error instanceof SpoolError ? error : new SpoolError({ reason: 'disk', systemCode: systemCode(error), cause: error });
    }
    this.#chunks = [];
    this.#onProgress({ bytes: this.#bytes, onDisk: true });
    return file;
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
    if (this.#opening === undefined) {
      const data = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, size);
      this.#chunks = [];
      return {
        size,
        read: async (into, position) => {
          into.set(data.subarray(position, position + into.length));
        },
        close: async () => undefined,
      };
    }
    const file = await this.#opening;
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
    this.#chunks = [];
    const file = this.#file;
    this.#file = undefined;
    // FileHandle.close waits for the reads and writes still running on it.
    await file?.close().catch(() => undefined);
    const path = this.#path;
    this.#path = undefined;
    if (path !== undefined) await unlink(path).catch(() => undefined);
  }
}
