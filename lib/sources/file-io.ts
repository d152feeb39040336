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

/** The system error code of an fs failure, or a stand-in. */
export function systemCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}
