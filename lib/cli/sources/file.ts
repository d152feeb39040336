import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { uploadFile } from '../../upload-file';
import { SourceError } from '../source-error';
import { chooseContentType } from './content-type';
import type { OpenedSource, SourceIdentity, SourceItem } from './source-item';
import { type StreamContext, type StreamResult, streamToVault } from './stream-to-vault';

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

async function openFile(item: FileItem, overrides: FileOverrides): Promise<OpenedSource> {
  let handle: FileHandle;
  try {
    handle = await open(item.path, 'r');
  } catch (error) {
    throw openProblem(item, error);
  }
  try {
    // The handle's own stat: what is read below is this file, whatever happens to the path.
    const stats = await handle.stat();
    let size: number | undefined;
    let identity: OpenedSource['identity'];
    if (stats.isFile()) {
      size = stats.size;
      identity = { kind: 'file', size: stats.size, mtimeMs: stats.mtimeMs };
      if (size === 0) throw new SourceError(`${JSON.stringify(item.source)} is empty: the vault takes no empty files`, { reason: 'empty', source: item.source });
    } else {
      // A named pipe: spooled, unless --size said how long it is.
      size = item.declaredSize;
    }
    const filename = overrides.filename ?? basename(item.path);
    const stream = handle.createReadStream();
    return {
      stream,
      size,
      filename,
      contentType: chooseContentType(filename, undefined, overrides.contentType),
      ...(identity === undefined ? {} : { identity }),
      close: async () => {
        stream.destroy();
        await handle.close().catch(() => undefined);
      },
    };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error instanceof SourceError ? error : openProblem(item, error);
  }
}

/**
 * How one local file is uploaded: opened and fstat'ed; a named pipe is streamed (and spooled
 * without --size), a regular file is uploaded in place by the library's uploadFile (parts read
 * at their offsets, retried by reading again, resumed after a crash unless --no-resume).
 */
export async function uploadFileSource(item: FileItem, ctx: StreamContext, overrides: FileOverrides): Promise<StreamResult> {
  const opened = await openFile(item, overrides);
  const { identity } = opened;
  if (identity?.kind !== 'file') return streamToVault(opened, ctx);
  await opened.close();
  if (ctx.recorded(identity)) return { kind: 'skipped', identity };
  return uploadInPlace(item.path, opened.filename, opened.contentType, identity, ctx);
}

async function uploadInPlace(path: string, filename: string, contentType: string, identity: SourceIdentity & { kind: 'file' }, ctx: StreamContext): Promise<StreamResult> {
  const { tuning } = ctx;
  ctx.events.opened(filename, identity.size);
  // The sha256 the summary compares is read from the file alongside the upload.
  const stopHashing = new AbortController();
  const hashing = sha256Of(path, AbortSignal.any([ctx.signal, stopHashing.signal]));
  hashing.catch(() => undefined);
  const started = performance.now();
  try {
    const result = await uploadFile(path, {
      ...ctx.connection,
      filename,
      contentType,
      ...(tuning.concurrency === undefined ? {} : { concurrency: tuning.concurrency }),
      ...(tuning.retries === undefined ? {} : { retries: tuning.retries }),
      ...(tuning.vaultUserId === undefined ? {} : { vaultUpload: { userId: tuning.vaultUserId } }),
      dispatcher: ctx.dispatcher,
      signal: ctx.signal,
      resume: ctx.resume,
      onResume: (info) => ctx.events.resumed(info),
      onSession: (session) => ctx.events.session(session.mediaUploadId),
      onProgress: (progress) => ctx.events.progress(progress),
    });
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
