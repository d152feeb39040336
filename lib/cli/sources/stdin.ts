import { fstatSync } from 'node:fs';
import { UsageError } from '../usage-error';

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

/**
 * Checked before anything is sent. Undefined for a pipe without --size: spooled until it ends,
 * since the API wants the size first.
 */
export function stdinSize(stdin: NodeJS.ReadStream, declared: number | undefined): number | undefined {
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
