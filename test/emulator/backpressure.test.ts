import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../lib/emulator';
import { DEFAULT_MAX_PARTS_AHEAD } from '../../lib/emulator/ordered-hasher';
import { uploadToVault } from '../../lib/index';
import { MiB, auth, complete, data, initPlan, putPart, settle, sha256, slice } from './helpers';

// Regression: the next part to hash can be much slower than the others (over loopback, some
// connections routinely get a fraction of the bandwidth), and later parts used to finish and pile
// up behind it: 27 parts of 8 MiB held at concurrency 4. Parts too far ahead are now paused.

const CHUNK = 64 * 1024;
// Seven distinct chunks: the period does not divide the part size, so parts differ.
const PATTERNS = Array.from({ length: 7 }, (_, i) => data(CHUNK, i + 200));

function chunkAt(offset: number): Buffer {
  return PATTERNS[Math.floor(offset / CHUNK) % PATTERNS.length]!;
}

/** `size` bytes as views of the shared patterns: the client allocates nothing. */
function generated(size: number): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < size; at += CHUNK) yield chunkAt(at).subarray(0, Math.min(CHUNK, size - at));
    })(),
    { objectMode: false },
  );
}

function expectedSha256(size: number): string {
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += CHUNK) hash.update(chunkAt(at).subarray(0, Math.min(CHUNK, size - at)));
  return hash.digest('hex');
}

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function upload(options: EmulatorOptions, size: number, concurrency: number): Promise<{ emulator: Emulator; sha256: string | undefined }> {
  emulator = await startEmulator({ mode: 'multipart', ...options });
  const result = await uploadToVault(generated(size), {
    apiKey: emulator.apiKey,
    connectionId: 'conn-test',
    baseUrl: emulator.url,
    filename: 'big.mp4',
    contentType: 'video/mp4',
    size,
    concurrency,
  });
  return { emulator, sha256: emulator.media(result.mediaUploadId)?.sha256 };
}

describe('held bytes stay bounded by backpressure', () => {
  it('128 MiB in 4 MiB parts at concurrency 4 over real sockets holds at most (concurrency + 1) parts', async () => {
    const partSize = 4 * MiB;
    const concurrency = 4;
    const size = 128 * MiB + 777;
    // Every answer waits 30 ms, so parts are always ready before a slot frees (the source is not
    // the bound) and every slot gets used, however fast this machine copies compared to loopback.
    const { emulator: e, sha256 } = await upload({ partSize, faults: [{ route: 'part', action: { type: 'delay', ms: 30 } }] }, size, concurrency);
    expect(sha256).toBe(expectedSha256(size));
    // Every slot used; one PUT more only if the uploader judged the link far (answers 30 ms late,
    // and init slow: this is the file's first request, a cold process under load may take 50 ms).
    expect(e.stats.maxConcurrentPuts).toBeGreaterThanOrEqual(concurrency);
    expect(e.stats.maxConcurrentPuts).toBeLessThanOrEqual(concurrency + 1);
    expect(e.stats.maxHeldBytes).toBeLessThanOrEqual((concurrency + 1) * partSize);
    expect(e.stats.heldBytes).toBe(0);
  });

  it('a crawling next part pauses the parts far ahead instead of letting them pile up', async () => {
    // Parts 2 and 9 are read at 16 MiB/s while the rest go at full speed: without backpressure
    // every later part finishes meanwhile and waits (about 20 parts held at concurrency 6).
    const partSize = 4 * MiB;
    const concurrency = 6;
    const size = 64 * MiB;
    const slow = { type: 'slowRead', bytesPerSecond: 16 * MiB } as const;
    const { emulator: e, sha256 } = await upload(
      {
        partSize,
        faults: [
          { route: 'part', partNumber: 2, action: slow },
          { route: 'part', partNumber: 9, action: slow },
        ],
      },
      size,
      concurrency,
    );
    expect(sha256).toBe(expectedSha256(size));
    expect(e.stats.faultsInjected).toBe(2);
    // As above: one PUT more only if the uploader judged the link far.
    expect(e.stats.maxConcurrentPuts).toBeGreaterThanOrEqual(concurrency);
    expect(e.stats.maxConcurrentPuts).toBeLessThanOrEqual(concurrency + 1);
    expect(e.stats.maxHeldBytes).toBeGreaterThan(0);
    expect(e.stats.maxHeldBytes).toBeLessThanOrEqual((concurrency + 1) * partSize);
    // The parts it lets run ahead of the crawling one, and one more: a part that streamed in
    // before the crawling part's own request reached the emulator was not paused (nothing is,
    // while the next part is not arriving: the client may be waiting on those very requests).
    expect(e.stats.maxHeldBytes).toBeLessThanOrEqual((DEFAULT_MAX_PARTS_AHEAD + 1) * partSize);
    expect(e.stats.heldBytes).toBe(0);
  });
});

describe('backpressure never deadlocks', () => {
  it('parts paused behind an arriving next part resume when that PUT is abandoned', async () => {
    const e = (emulator = await startEmulator({ partSize: 1 * MiB, mode: 'multipart' }));
    const bytes = data(8 * MiB, 7);
    const plan = await initPlan(e, bytes.length);
    const partRecord = (n: number) => e.requests.find((r) => r.route === 'part' && r.partNumber === n);

    // Part 1 sends half its body, then stalls until the test abandons it.
    const one = slice(bytes, plan.parts[0]!.byteRange);
    let abandon!: () => void;
    const stalled = new Readable({ read() {} });
    stalled.push(one.subarray(0, one.length >> 1));
    const abandoned = new Promise<void>((resolve) => {
      abandon = () => {
        stalled.destroy(new Error('client gave up'));
        resolve();
      };
    });
    const first = request(plan.parts[0]!.uploadUrl, {
      method: 'PUT',
      headers: { ...auth(e), 'content-length': String(one.length) },
      body: stalled,
    }).catch((error: unknown) => error);
    await settle(() => (partRecord(1)?.bytesReceived ?? 0) > 0);

    // Parts 6 and 7 are more than 3 parts ahead of part 1: paused before their first byte.
    const later = [6, 7].map((n) => putPart(e, plan, bytes, n));
    await settle(() => partRecord(6) !== undefined && partRecord(7) !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([partRecord(6)!.bytesReceived, partRecord(7)!.bytesReceived]).toEqual([0, 0]);
    expect([partRecord(6)!.status, partRecord(7)!.status]).toEqual([0, 0]);

    abandon();
    await abandoned;
    expect((await Promise.all(later)).map((r) => r.status)).toEqual([200, 200]);
    await first;
    for (const n of [1, 2, 3, 4, 5, 8]) expect((await putPart(e, plan, bytes, n)).status).toBe(200);
    expect((await complete(e, plan.mediaUploadId)).status).toBe(200);
    expect(e.media(plan.mediaUploadId)?.sha256).toBe(sha256(bytes));
    expect(e.stats.heldBytes).toBe(0);
  });
});
