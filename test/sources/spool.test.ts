import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpoolError } from '../../lib/errors';
import { Spool, type SpoolProgress } from '../../lib/sources/spool';
import { KiB, MiB, bytes, openFilesIn } from '../helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spool-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function spoolAll(spool: Spool, data: Buffer, chunk: number): Promise<void> {
  for (let o = 0; o < data.length; o += chunk) {
    const piece = Buffer.from(data.subarray(o, o + chunk));
    await spool.write(piece);
    piece.fill(0); // the caller may reuse its chunk once the write is done
  }
}

async function readBack(spool: Spool, size: number): Promise<Buffer> {
  const source = await spool.finish();
  expect(source.size).toBe(size);
  const out = Buffer.alloc(size);
  // Out of order and in odd pieces, as parts are read.
  const cuts = [0, 7, Math.floor(size / 3), Math.floor(size / 2), size].filter((c, i, all) => c <= size && all.indexOf(c) === i);
  for (let i = cuts.length - 2; i >= 0; i--) await source.read(out.subarray(cuts[i]!, cuts[i + 1]!), cuts[i]!);
  return out;
}

describe('Spool', () => {
  it('a source within spool.memory never touches the disk', async () => {
    const events: SpoolProgress[] = [];
    const spool = new Spool({ memory: 256 * KiB, dir }, (p) => events.push(p));
    const data = bytes(256 * KiB, 1);
    await spoolAll(spool, data, 10_000);
    expect(spool.onDisk).toBe(false);
    expect(openFilesIn(dir)).toEqual([]);
    expect((await readBack(spool, data.length)).equals(data)).toBe(true);
    expect(events.at(-1)).toEqual({ bytes: data.length, onDisk: false });
    await spool.close();
  });

  it('beyond spool.memory: one file, 0600, already unlinked while open, read back at any offset, gone on close', async () => {
    const events: SpoolProgress[] = [];
    const spool = new Spool({ memory: 100 * KiB, dir }, (p) => events.push(p));
    const data = bytes(3 * MiB + 5, 2);
    await spoolAll(spool, data, 64 * KiB);
    expect(spool.onDisk).toBe(true);
    expect(readdirSync(dir)).toEqual([]); // no name on disk, even while it is written
    const open = openFilesIn(dir);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatch(/ofauth-spool-.* \(deleted\)$/);
    const fd = readdirSync('/proc/self/fd').find((n) => { try { return readlinkSync(`/proc/self/fd/${n}`) === open[0]; } catch { return false; } });
    expect(statSync(`/proc/self/fd/${fd}`).mode & 0o777).toBe(0o600);
    expect((await readBack(spool, data.length)).equals(data)).toBe(true);
    // At least every MiB, and once at the end.
    expect(events.filter((e) => e.onDisk).map((e) => e.bytes).slice(-4)).toEqual([expect.any(Number), expect.any(Number), expect.any(Number), data.length]);
    for (let i = 1; i < events.length; i++) expect(events[i]!.bytes - events[i - 1]!.bytes).toBeLessThanOrEqual(MiB + 64 * KiB);
    await spool.close();
    expect(openFilesIn(dir)).toEqual([]);
  });

  it('maxBytes: a source one byte larger fails with SpoolError(limit)', async () => {
    const spool = new Spool({ memory: 10, dir, maxBytes: 100 }, () => {});
    await spool.write(Buffer.alloc(100));
    let error: unknown;
    try {
      await spool.write(Buffer.alloc(1));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpoolError);
    expect(error).toMatchObject({ code: 'ERR_OFAUTH_SPOOL', reason: 'limit', limit: 100 });
    await spool.close();
    expect(openFilesIn(dir)).toEqual([]);
  });

  it.each([
    ['a missing dir', () => join(dir, 'missing'), 'ENOENT'],
    ['a dir the system refuses (read-only /sys, even for root)', () => '/sys', 'EACCES'],
  ])('%s: SpoolError with the system code', async (_label, where, code) => {
    const spool = new Spool({ memory: 10, dir: where() }, () => {});
    await expect(spool.write(Buffer.alloc(11))).rejects.toMatchObject({ name: 'SpoolError', reason: 'disk', systemCode: code });
    await spool.close();
  });

  it('close while the spill file is being opened leaves nothing open', async () => {
    const spool = new Spool({ memory: 10, dir }, () => {});
    const writing = spool.write(Buffer.alloc(1000));
    await spool.close();
    await writing?.catch(() => undefined);
    expect(openFilesIn(dir)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
