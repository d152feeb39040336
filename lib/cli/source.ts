import { fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import mime from 'mime';
import type { SourceSpec, UploadArgs } from './args';
import { sampleSource } from './sample-source';
import { UsageError } from './usage-error';

/** What the upload needs to know before its first byte: the API asks for all of it at init. */
export interface OpenedSource {
  stream: Readable;
  /** Undefined for a pipe (or FIFO) without --size: the upload spools it to learn its size. */
  size: number | undefined;
  filename: string;
  contentType: string;
  /** Releases the file descriptor if the stream was never consumed (a usage error after opening). */
  close(): Promise<void>;
  /** Set for a regular file: it is uploaded in place (uploadFile), and `stream` is not read. */
  regularFile?: string;
}

const FALLBACK_TYPE = 'application/octet-stream';

function fsProblem(path: string, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
  return new UsageError(`cannot read ${JSON.stringify(path)}: ${reason}`);
}

async function openFile(path: string, declared: number | undefined): Promise<{ stream: Readable; size: number | undefined; handle: FileHandle; regular: boolean }> {
  // Open first and stat the handle: a missing or unreadable file is a usage error before any request.
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fsProblem(path, error);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new UsageError(`cannot read ${JSON.stringify(path)}: it is a directory`);
    let size: number | undefined;
    if (stats.isFile()) {
      if (declared !== undefined && declared !== stats.size) {
        throw new UsageError(`--size ${declared} does not match the size of ${JSON.stringify(path)} (${stats.size} bytes)`);
      }
      size = stats.size;
    } else {
      // A pipe or device (e.g. bash's <(…)) has no size to stat: like stdin, it is spooled
      // unless --size says how long it is.
      size = declared;
    }
    if (size === 0) throw new UsageError(`${JSON.stringify(path)} is empty: the API needs at least one byte`);
    return { stream: handle.createReadStream(), size, handle, regular: stats.isFile() };
  } catch (error) {
    await handle.close();
    throw error instanceof UsageError ? error : fsProblem(path, error);
  }
}

/**
 * The size of stdin when it is a regular file (`ofauth-upload - < clip.mp4`), from fstat; undefined
 * for a pipe, socket or device, whose length nothing can tell before the end.
 */
function stdinFileSize(stdin: NodeJS.ReadStream): number | undefined {
  const fd = (stdin as { fd?: unknown }).fd;
  try {
    const stats = fstatSync(typeof fd === 'number' ? fd : 0);
    return stats.isFile() ? stats.size : undefined;
  } catch {
    return undefined;
  }
}

/** Undefined for a pipe without --size: spooled until it ends, since the API wants the size first. */
function stdinSize(stdin: NodeJS.ReadStream, declared: number | undefined): number | undefined {
  if (stdin.isTTY) throw new UsageError('stdin is a terminal: redirect or pipe the data in, e.g. `ofauth-upload - < clip.mp4`');
  const fileSize = stdinFileSize(stdin);
  if (fileSize === undefined) return declared;
  // Read from the current offset, as a shell user expects: a file whose offset is not 0 ends
  // short of this size and fails with SizeMismatchError, never finalized.
  if (declared !== undefined && declared !== fileSize) {
    throw new UsageError(`--size ${declared} does not match the size of the file on stdin (${fileSize} bytes)`);
  }
  if (fileSize === 0) throw new UsageError('the file on stdin is empty: the API needs at least one byte');
  return fileSize;
}

export async function openSource(spec: SourceSpec, args: UploadArgs, stdin: NodeJS.ReadStream): Promise<OpenedSource> {
  let stream: Readable;
  let size: number | undefined;
  let defaultName: string;
  let close = async (): Promise<void> => {};
  let regularFile: string | undefined;
  if (spec.kind === 'file') {
    const file = await openFile(spec.path, args.size);
    ({ stream, size } = file);
    if (file.regular) regularFile = spec.path;
    defaultName = basename(spec.path);
    close = async () => {
      stream.destroy();
      await file.handle.close().catch(() => undefined);
    };
  } else if (spec.kind === 'stdin') {
    size = stdinSize(stdin, args.size);
    stream = stdin;
    defaultName = 'stdin';
  } else {
    stream = sampleSource(spec.size);
    size = spec.size;
    defaultName = `sample-${spec.label}.bin`;
  }
  const filename = args.filename ?? defaultName;
  const contentType = args.contentType ?? mime.getType(filename) ?? FALLBACK_TYPE;
  return { stream, size, filename, contentType, close, ...(regularFile === undefined ? {} : { regularFile }) };
}
