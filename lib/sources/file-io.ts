import type { FileHandle } from 'node:fs/promises';

/** Positional read of exactly `into.length` bytes; a file shorter than expected is an error. */
export async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  // Each round reads at least one byte or stops: bounded by into.length.
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) {
      throw Object.assign(new Error(`the file ended at ${position + done} bytes, before ${position + into.length}`), { code: 'ESHORTREAD' });
    }
    done += bytesRead;
  }
}

/** Positional write of all of `data`. */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('the disk took no bytes'), { code: 'EIO' });
    done += bytesWritten;
  }
}

/**
 * Positional write of `buffers`, one after the other, in as few system calls as the system
 * allows (one `writev` each round): the spool's memory goes to disk in one call, not one per block.
 */
export async function writevFully(handle: FileHandle, buffers: readonly Uint8Array[], position: number): Promise<void> {
  let rest = buffers.filter((b) => b.length > 0);
  let at = position;
  // Each round writes at least one byte or throws: bounded by the bytes to write.
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    if (bytesWritten === 0) throw Object.assign(new Error('the disk took no bytes'), { code: 'EIO' });
    at += bytesWritten;
    rest = dropWritten(rest, bytesWritten);
  }
}

/** What is left of `buffers` once their first `n` bytes are written. */
function dropWritten(buffers: readonly Uint8Array[], n: number): Uint8Array[] {
  const left: Uint8Array[] = [];
  let skip = n;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    left.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return left;
}

/** The system error code of an fs failure, or a stand-in. */
export function systemCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}
