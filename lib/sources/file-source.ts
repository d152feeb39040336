import { type BigIntStats, constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { EmptySourceError, type FileIdentity, OFAuthUploadError, SourceChangedError } from '../errors';
import { readFully } from './file-io';
import type { PartSource } from './part-source';

/** O_NONBLOCK where the platform has it (not on Windows, where opening a pipe does not block). */
const NONBLOCK = constants.O_NONBLOCK ?? 0;

function identity(stats: BigIntStats): FileIdentity {
  return { size: Number(stats.size), mtimeNs: stats.mtimeNs.toString() };
}

/**
 * A regular file read in place: its size and mtime are taken from the opened handle (`fstat`),
 * parts are positional reads, and `verify` compares the handle's `fstat` again before the upload
 * is finalized, so a file that changed under the upload is never finalized.
 */
export class FileSource implements PartSource {
  readonly path: string;
  readonly size: number;
  /** Size and mtime as the file was opened: part of the resume journal's key. */
  readonly identity: FileIdentity;
  readonly #handle: FileHandle;
  #closed: Promise<void> | undefined;

  private constructor(path: string, handle: FileHandle, opened: FileIdentity) {
    this.path = path;
    this.#handle = handle;
    this.identity = opened;
    this.size = opened.size;
  }

  /**
   * Opens `path` for reading; fails (and closes it) unless it is a non-empty regular file.
   * Non-blocking: a plain open of a FIFO waits in a libuv thread for a writer, deaf to the signal
   * and holding even `process.exit()`; opened this way it returns at once, and the fstat below
   * refuses it. (Reads of a regular file ignore the flag.)
   */
  static async open(path: string): Promise<FileSource> {
    const handle = await open(path, constants.O_RDONLY | NONBLOCK);
    try {
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) {
        const kind = stats.isFIFO() ? 'a named pipe' : stats.isDirectory() ? 'a directory' : stats.isSocket() ? 'a socket' : 'not a regular file';
        throw new OFAuthUploadError(`${path} is ${kind}: stream it with OFAuthUploadStream (or uploadToVault) instead`, 'ERR_OFAUTH_NOT_A_FILE');
      }
      if (stats.size === 0n) throw new EmptySourceError(`${path} is empty; nothing was uploaded (the vault does not take empty files)`);
      return new FileSource(path, handle, identity(stats));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async read(into: Uint8Array, position: number): Promise<void> {
    try {
      await readFully(this.#handle, into, position);
    } catch (error) {
      // A file that ended before its opened size was truncated under us.
      if ((error as { code?: unknown }).code === 'ESHORTREAD') throw new SourceChangedError(this.path, this.identity, await this.#now(), { cause: error });
      throw error;
    }
  }

  async #now(): Promise<FileIdentity | undefined> {
    try {
      return identity(await this.#handle.stat({ bigint: true }));
    } catch {
      return undefined;
    }
  }

  /** Throws SourceChangedError when the size or mtime differ from when the file was opened. */
  async verify(): Promise<void> {
    const now = identity(await this.#handle.stat({ bigint: true }));
    if (now.size !== this.identity.size || now.mtimeNs !== this.identity.mtimeNs) {
      throw new SourceChangedError(this.path, this.identity, now);
    }
  }

  /** FileHandle.close waits for the reads still running on it. */
  close(): Promise<void> {
    this.#closed ??= this.#handle.close().catch(() => undefined);
    return this.#closed;
  }
}
