import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../lib/emulator';
import { MemoryLimitError, OFAuthUploadStream, uploadToVault } from '../../lib/index';
import { startChildEmulator } from '../emulator-child';
import { KiB, MiB, bytes, emulatorFixture, liveMemorySampler, sha256, source, writeRecycling } from '../helpers';

const API_KEY = 'sk_live_multipart_secret_7';
const { start: emulator, uploadOptions: options } = emulatorFixture({ apiKey: API_KEY, partSize: 64 * KiB });

const partPuts = (e: Emulator) => e.requests.filter((r) => r.route === 'part' || r.route === 'single');
const completes = (e: Emulator) => e.requests.filter((r) => r.route === 'complete');

describe('finalize: only complete, or the single plan\'s own PUT, finalizes', () => {
  it('a `media` in a multipart part answer is ignored: complete is still called, and its media is the result', async () => {
    const e = await emulator({
      mode: 'multipart',
      faults: [{ route: 'part', partNumber: 1, action: { type: 'mutate', fn: (a) => ({ ...a, media: { id: 'not-finalized' } }) } }],
    });
    const data = bytes(3 * 64 * KiB, 1);
    const result = await uploadToVault(source(data, 16 * KiB), options(e, data.length));
    expect(completes(e)).toHaveLength(1);
    expect(result.media?.id).not.toBe('not-finalized');
    expect(e.media(result.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
  });

  it('the same on a one-part multipart plan: not the finalizing endpoint, so complete follows', async () => {
    const e = await emulator({
      mode: 'multipart',
      faults: [{ route: 'part', action: { type: 'mutate', fn: (a) => ({ ...a, media: { id: 'not-finalized' } }) } }],
    });
    const data = bytes(10 * KiB, 2);
    const result = await uploadToVault(data, options(e, data.length));
    expect(completes(e)).toHaveLength(1);
    expect(e.media(result.mediaUploadId)?.completed).toBe(true);
  });

  it('the single plan\'s one PUT finalizes by itself: its media stands, no complete', async () => {
    const e = await emulator({ mode: 'single' });
    const data = bytes(10 * KiB, 3);
    const result = await uploadToVault(data, options(e, data.length));
    expect(completes(e)).toHaveLength(0);
    expect(result.media?.id).toBe(e.media(result.mediaUploadId)?.media?.id);
    expect(e.media(result.mediaUploadId)?.completed).toBe(true);
  });
});

describe('maxBufferMemory', () => {
  it('large parts: fewer parts in flight so the part buffers stay within the budget', async () => {
    // The emulator runs in its own process, so the memory sampled here is the client's alone.
    // Each part is held 250 ms: the source fills the next buffer well before, even on a loaded
    // machine, so the budget (not the source) is what keeps the second part from starting sooner.
    const child = await startChildEmulator({ mode: 'multipart', partSize: 1 * MiB, faults: [{ route: 'part', action: { type: 'delay', ms: 250 } }] });
    try {
      const upload = new OFAuthUploadStream({ ...options(child, 8 * MiB), apiKey: child.apiKey, concurrency: 8, maxBufferMemory: 2.5 * MiB });
      const memory = liveMemorySampler(5);
      // A ring of 4 recycled chunk buffers: no garbage, so the samples show what the upload holds.
      const sha = await writeRecycling(upload, 8 * MiB, 4, 64 * KiB, 4);
      const { peakExternal } = memory.stop();
      expect((await child.media(upload.result!.mediaUploadId))?.sha256).toBe(sha);
      // Two 1 MiB buffers fit 2.5 MiB: two parts in flight, not eight.
      expect((await child.stats()).maxConcurrentPuts).toBe(2);
      // Unbounded, 9 × 1 MiB part buffers would be live; the slack is the source's ring and sockets.
      expect(peakExternal).toBeLessThan(2.5 * MiB + 1 * MiB);
    } finally {
      await child.close();
    }
  });

  it('a part that cannot fit fails with MemoryLimitError before any byte is sent', async () => {
    const e = await emulator({ mode: 'multipart', partSize: 2 * MiB });
    const data = bytes(3 * MiB, 5);
    const error = await uploadToVault(source(data, 64 * KiB), options(e, data.length, { maxBufferMemory: 1 * MiB })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MemoryLimitError);
    expect(error).toMatchObject({ code: 'ERR_OFAUTH_MEMORY_LIMIT', limit: 1 * MiB, required: 2 * MiB });
    expect(partPuts(e)).toHaveLength(0);
    expect(completes(e)).toHaveLength(0);
  });

  it('a single plan larger than the budget is refused too (it would hold the whole file)', async () => {
    const e = await emulator({ mode: 'single' });
    const data = bytes(2 * MiB, 6);
    const error = await uploadToVault(source(data, 64 * KiB), options(e, data.length, { maxBufferMemory: 1 * MiB })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MemoryLimitError);
    expect(partPuts(e)).toHaveLength(0);
    expect(e.uploads().every((m) => !m.completed)).toBe(true);
  });
});
