// The spool on disk writes in 1 MiB batches, whatever the chunk size (issue 26, item 1): counted
// write calls, held callers, and a failed batch written behind the source. Deterministic: the
// disk's writes are counted or gated by a spy on FileHandle's prototype, never timed.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpoolError } from '../../lib/errors';
import { OFAuthUploadStream } from '../../lib/index';
import { Spool } from '../../lib/sources/spool';
import { KiB, MiB, bytes, emulatorFixture, openFilesIn, sha256, source } from '../helpers';

const fixture = emulatorFixture({ apiKey: 'sk_test_staging', partSize: 1 * MiB });

let dir: string;
let fileHandleProto: FileHandle;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spool-staging-'));
  writeFileSync(join(dir, 'probe'), '');
  const probe = await open(join(dir, 'probe'), 'r');
  fileHandleProto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  rmSync(join(dir, 'probe'));
});
afterEach(() => {
  vi.restoreAllMocks();
  expect(readdirSync(dir)).toEqual([]);
  expect(openFilesIn(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

/** Counts the bytes of each write and writev call made on any FileHandle from now on. */
function countWrites(): { writes: number[]; writevs: number[] } {
  const seen = { writes: [] as number[], writevs: [] as number[] };
  const write = fileHandleProto.write as (...args: unknown[]) => Promise<{ bytesWritten: number }>;
  const writev = fileHandleProto.writev as (...args: unknown[]) => Promise<{ bytesWritten: number }>;
  vi.spyOn(fileHandleProto, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
    seen.writes.push(args[2] as number);
    return write.apply(this, args);
  } as never);
  vi.spyOn(fileHandleProto, 'writev').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
    seen.writevs.push((args[0] as Uint8Array[]).reduce((n, b) => n + b.length, 0));
    return writev.apply(this, args);
  } as never);
  return seen;
}

async function readAll(spool: Spool): Promise<Buffer> {
  const part = await spool.finish();
  const out = Buffer.alloc(part.size);
  await part.read(out, 0);
  return out;
}

describe('Spool on disk: batched writes', () => {
  it('4 MiB of 4 KiB chunks: a handful of write calls of 1 MiB, not 1024, and the bytes read back intact', async () => {
    const seen = countWrites();
    const spool = new Spool({ memory: 64 * KiB, dir }, () => {});
    const data = bytes(4 * MiB, 7);
    let takenAtOnce = 0;
    for (let o = 0; o < data.length; o += 4 * KiB) {
      const chunk = Buffer.from(data.subarray(o, o + 4 * KiB));
      const pending = spool.write(chunk);
      if (pending === undefined) takenAtOnce++;
      else await pending;
      chunk.fill(0); // the caller reuses its chunk once the write is done
    }
    expect((await readAll(spool)).equals(data)).toBe(true);
    await spool.close();
    // The 64 KiB of memory in one writev; then the 1 MiB staging buffers, and what was left at the end.
    expect(seen.writevs).toEqual([64 * KiB]);
    expect(seen.writes.length).toBeLessThanOrEqual(5);
    expect(seen.writes.slice(0, -1).every((n) => n === MiB)).toBe(true);
    expect(seen.writes.reduce((a, b) => a + b, 0) + 64 * KiB).toBe(data.length);
    // A caller is held only when both buffers are taken: at most once per disk write.
    expect(takenAtOnce).toBeGreaterThanOrEqual(1024 - 16 - seen.writes.length - 1);
  });

  it('odd chunk sizes, one larger than both staging buffers together: the bytes read back intact', async () => {
    const data = bytes(7 * MiB + 333, 8);
    const sizes = [1, 4095, 3 * MiB + 17, 65_537, 1000];
    const spool = new Spool({ memory: 100 * KiB, dir }, () => {});
    for (let o = 0, i = 0; o < data.length; i++) {
      const chunk = Buffer.from(data.subarray(o, o + sizes[i % sizes.length]!));
      await spool.write(chunk);
      o += chunk.length;
    }
    expect(spool.bytes).toBe(data.length);
    expect((await readAll(spool)).equals(data)).toBe(true);
    await spool.close();
  });

  it('holds the caller while a disk write is in flight and the other staging buffer is full, and not before', async () => {
    const write = fileHandleProto.write as (...args: unknown[]) => Promise<{ bytesWritten: number }>;
    const gates: (() => void)[] = [];
    vi.spyOn(fileHandleProto, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
      // Every disk write waits for the test to let it through.
      return new Promise<void>((resolve) => gates.push(resolve)).then(() => write.apply(this, args));
    } as never);
    const spool = new Spool({ memory: 0, dir }, () => {});
    const chunk = Buffer.alloc(64 * KiB, 1);
    await spool.write(chunk); // opens the file (spill), stages the first chunk
    // 1 MiB fills the first buffer, which goes to disk (gated); the next 1 MiB fills the other.
    const results: (Promise<void> | undefined)[] = [];
    for (let i = 1; i < 32; i++) results.push(spool.write(chunk));
    expect(results.every((r) => r === undefined)).toBe(true);
    expect(gates).toHaveLength(1);
    // Both buffers are taken: this caller is held until the write in flight ends.
    let released = false;
    const held = spool.write(chunk);
    expect(held).toBeInstanceOf(Promise);
    const done = held!.then(() => {
      released = true;
    });
    await Promise.resolve();
    expect(released).toBe(false);
    gates.shift()!();
    await done;
    expect(released).toBe(true);
    expect(spool.bytes).toBe(33 * 64 * KiB);
    // finish writes the rest (the next buffer, then the last bytes), each through the gate.
    const finishing = spool.finish();
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
    const part = await finishing;
    expect(part.size).toBe(33 * 64 * KiB);
    await spool.close();
  });

  it('a batch that fails on disk after its callers were let go: SpoolError(ENOSPC) to onFailure, the next write and finish', async () => {
    vi.spyOn(fileHandleProto, 'write').mockImplementation((() =>
      Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }))) as never);
    const failures: SpoolError[] = [];
    const spool = new Spool({ memory: 0, dir }, () => {}, (error) => failures.push(error));
    const chunk = Buffer.alloc(64 * KiB, 2);
    // 1 MiB: the full buffer goes to disk behind the caller, who is not held.
    let i = 0;
    for (; i < 16; i++) expect(await spool.write(chunk)).toBeUndefined();
    await vi.waitFor(() => expect(failures).toHaveLength(1));
    expect(failures[0]).toBeInstanceOf(SpoolError);
    expect(failures[0]).toMatchObject({ code: 'ERR_OFAUTH_SPOOL', reason: 'disk', systemCode: 'ENOSPC' });
    expect(() => spool.write(chunk)).toThrow(failures[0]);
    await expect(spool.finish()).rejects.toBe(failures[0]);
    await spool.close();
  });
});

describe('OFAuthUploadStream with no size: a batch failing behind the source', () => {
  it('fails the stream with SpoolError at once, though the source sends nothing more, and leaves no file', async () => {
    vi.spyOn(fileHandleProto, 'write').mockImplementation((() =>
      Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }))) as never);
    // Never reached: the spool fails before the source ends.
    const upload = new OFAuthUploadStream({
      apiKey: 'k', connectionId: 'c', baseUrl: 'http://127.0.0.1:9', filename: 'x.bin', contentType: 'application/octet-stream',
      spool: { memory: 0, dir },
    });
    const failed = new Promise<unknown>((resolve) => upload.on('error', resolve));
    const closed = new Promise((resolve) => upload.on('close', resolve));
    // 1 MiB and one byte, then the source stalls: nothing but the failed disk write can end this.
    for (let i = 0; i < 16; i++) upload.write(Buffer.alloc(64 * KiB, 3));
    upload.write(Buffer.alloc(1, 3));
    const error = await failed;
    expect(error).toBeInstanceOf(SpoolError);
    expect(error).toMatchObject({ reason: 'disk', systemCode: 'ENOSPC' });
    await closed;
  });

  it('pipeline: 3 MiB in 4 KiB chunks spooled, then uploaded from the spool intact, in 1 MiB disk writes', async () => {
    const e = await fixture.start();
    const seen = countWrites();
    const data = bytes(3 * MiB + 5, 9);
    const upload = new OFAuthUploadStream(fixture.uploadOptions(e, undefined, { spool: { memory: 256 * KiB, dir } }));
    await pipeline(source(data, 4 * KiB), upload);
    expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(seen.writevs).toEqual([256 * KiB]);
    expect(seen.writes.length).toBeLessThanOrEqual(4);
  });
});
