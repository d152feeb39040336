import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { SourceError } from '../source-error';
import { chooseContentType } from './content-type';
import type { OpenedSource, SourceItem } from './source-item';
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
 * How one local file is uploaded: opened, fstat'ed and streamed. The one place to change for
 * files to go through the library's resumable file upload instead.
 */
export async function uploadFileSource(item: FileItem, ctx: StreamContext, overrides: FileOverrides): Promise<StreamResult> {
  return streamToVault(await openFile(item, overrides), ctx);
}
