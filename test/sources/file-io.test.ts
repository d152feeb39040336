import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { writevFully } from '../../lib/sources/file-io';

/** A file in memory whose writev takes at most `perCall` bytes a call, as a system may. */
function partialFile(perCall: number): { handle: FileHandle; data: number[]; calls: number } {
  const file = { data: [] as number[], calls: 0, handle: undefined as unknown as FileHandle };
  file.handle = {
    writev: async (buffers: Uint8Array[], position: number) => {
      file.calls++;
      let at = position;
      let n = 0;
      for (const b of buffers) for (const byte of b) if (n < perCall) (file.data[at++] = byte), n++;
      return { bytesWritten: n, buffers };
    },
  } as unknown as FileHandle;
  return file;
}

describe('writevFully', () => {
  it('writes every buffer in order at its position, however little each writev takes', async () => {
    const buffers = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defgh'), Buffer.from('ij')];
    const file = partialFile(4);
    await writevFully(file.handle, buffers, 2);
    expect(Buffer.from(file.data.slice(2)).toString()).toBe('abcdefghij');
    expect(file.calls).toBe(3);
  });

  it('one call when the system takes it all; none for nothing', async () => {
    const file = partialFile(1 << 20);
    await writevFully(file.handle, [Buffer.from('xy'), Buffer.from('z')], 0);
    expect(file.calls).toBe(1);
    const empty = partialFile(1);
    await writevFully(empty.handle, [Buffer.alloc(0)], 0);
    expect(empty.calls).toBe(0);
  });

  it('a disk that takes no bytes is an error (EIO), not a loop', async () => {
    await expect(writevFully(partialFile(0).handle, [Buffer.from('a')], 0)).rejects.toMatchObject({ code: 'EIO' });
  });
});
