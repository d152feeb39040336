import { createHash } from 'node:crypto';
import { close, constants, createReadStream, fstat, open } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { uploadFile } from '../../upload-file';
import { SourceError } from '../source-error';
import { chooseContentType } from './content-type';
import { pulledUploadOptions } from './pulled-options';
import type { OpenedSource, SourceIdentity, SourceItem } from './source-item';
import { type StreamContext, type StreamResult, streamToVault } from './stream-to-vault';

/** A regular file (uploaded in place, by path) or anything else (streamed). */
type OpenedFile =
  | { kind: 'regular'; filename: string; contentType: string; identity: SourceIdentity & { kind: 'file' } }
  | { kind: 'stream'; opened: OpenedSource };

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);

export type FileItem = Extract<SourceItem, { kind: 'file' }>;

export interface FileOverrides {
  filename?: string | undefined;
  contentType?: string | undefined;
}

function openProblem(item: FileItem, error: unknown): SourceError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file (it went away)' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message;
  return new SourceError(`cannot read ${JSON.stringify(item.source)}: ${reason}`, { reason: 'unreadable', source: item.source, cause: error });
}

/**
 * Opens without blocking: a plain open of a named pipe waits in a libuv thread for a writer, where
 * no signal reaches it and even a second Ctrl-C cannot end the process. The fd of a pipe is read
 * as a socket (the event loop waits for its writer, and destroying it stops the wait).
 */
async function openFile(item: FileItem, overrides: FileOverrides): Promise<OpenedFile> {
  let fd: number;
  try {
    fd = await openAsync(item.path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw openProblem(item, error);
  }
  let owned = true;
  try {
    // The fd's own stat: what is read below is this file, whatever happens to the path.
    const stats = await fstatAsync(fd);
    const filename = overrides.filename ?? basename(item.path);
    const contentType = chooseContentType(filename, undefined, overrides.contentType);
    if (stats.isFile()) {
      if (stats.size === 0) throw new SourceError(`${JSON.stringify(item.source)} is empty: the vault takes no empty files`, { reason: 'empty', source: item.source });
      // Uploaded in place by uploadFile, which opens it again: nothing is read through this fd.
      await closeFd(fd);
      owned = false;
      return { kind: 'regular', filename, contentType, identity: { kind: 'file', size: stats.size, mtimeMs: stats.mtimeMs } };
    }
    let stream: Readable;
    if (stats.isFIFO()) {
      stream = new Socket({ fd, readable: true, writable: false });
      owned = false; // the socket closes it
    } else {
      // A character device (a tty, /dev/zero): opening it does not block, reading it must.
      await closeFd(fd);
      owned = false;
      stream = createReadStream(item.path);
    }
    // A named pipe: spooled, unless --size said how long it is.
    return {
      kind: 'stream',
      opened: {
        stream,
        size: item.declaredSize,
        filename,
        contentType,
        close: async () => {
          stream.destroy();
        },
      },
    };
  } catch (error) {
    if (owned) await closeFd(fd);
    throw error instanceof SourceError ? error : openProblem(item, error);
  }
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/**
 * How one local file is uploaded: opened and fstat'ed; a named pipe is streamed (and spooled
 * without --size), a regular file is uploaded in place by the library's uploadFile (parts read
 * at their offsets, retried by reading again, resumed after a crash unless --no-resume).
 */
export async function uploadFileSource(item: FileItem, ctx: StreamContext, overrides: FileOverrides): Promise<StreamResult> {
  const opened = await openFile(item, overrides);
  if (opened.kind === 'stream') return streamToVault(opened.opened, ctx);
  const { identity } = opened;
  // The identity as the file is now, when its turn came: not as the folder listing saw it.
  if (ctx.recorded(identity)) return { kind: 'skipped', identity };
  return uploadInPlace(item.path, opened.filename, opened.contentType, identity, ctx);
}

async function uploadInPlace(path: string, filename: string, contentType: string, identity: SourceIdentity & { kind: 'file' }, ctx: StreamContext): Promise<StreamResult> {
  ctx.events.opened(filename, identity.size);
  // The sha256 the summary compares is read from the file alongside the upload.
  const stopHashing = new AbortController();
  const hashing = sha256Of(path, AbortSignal.any([ctx.signal, stopHashing.signal]));
  hashing.catch(() => undefined);
  const started = performance.now();
  try {
    const result = await uploadFile(path, pulledUploadOptions(ctx, filename, contentType));
    return { kind: 'uploaded', filename, contentType, bytes: result.size, sha256: await hashing, result, identity, elapsedMs: performance.now() - started };
  } catch (error) {
    stopHashing.abort();
    throw error;
  } finally {
    // No read of the file outlives the upload.
    await hashing.catch(() => undefined);
  }
}

async function sha256Of(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { signal, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
