import { describe, expect, it } from 'vitest';
import { MemoryLimitError, uploadFile } from '../../lib/index';
import type { MultipartPlan } from '../../lib/plan';
import { pulledPartBuffers, pushedPartBuffers } from '../../lib/parts/memory-budget';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB, bytes, emulatorFixture, sha256, watchingBuffers } from '../helpers';

/** A plan of `parts` parts of `partSize` bytes, the last one `last` bytes. */
function plan(parts: number, partSize: number, last = partSize): MultipartPlan {
  let start = 0;
  return {
    mediaUploadId: 'upload:budget',
    uploadType: parts === 1 ? 'single' : 'multipart',
    totalParts: parts,
    partSize,
    expiresAt: '2099-01-01T00:00:00Z',
    parts: Array.from({ length: parts }, (_, i) => {
      const length = i === parts - 1 ? last : partSize;
      const part = { partNumber: i + 1, uploadUrl: `https://api.example/p/${i + 1}`, byteRange: { start, end: start + length - 1 } };
      start += length;
      return part;
    }),
  };
}

describe('the part buffer budget', () => {
  it('concurrency + 1 buffers when they fit; fewer buffers, and fewer parts in flight, when they do not', () => {
    expect(pushedPartBuffers(plan(20, MiB), 4, 256 * MiB)).toEqual({ bufferSize: MiB, buffers: 5, inFlight: 4 });
    // 2.5 MiB holds two 1 MiB buffers: two parts in flight, whatever the concurrency.
    expect(pushedPartBuffers(plan(20, MiB), 8, 2.5 * MiB)).toEqual({ bufferSize: MiB, buffers: 2, inFlight: 2 });
    expect(pulledPartBuffers(plan(20, MiB), 8, 2.5 * MiB)).toEqual({ bufferSize: MiB, buffers: 2, inFlight: 2 });
    expect(pushedPartBuffers(plan(20, MiB), 8, MiB)).toEqual({ bufferSize: MiB, buffers: 1, inFlight: 1 });
    // Never more buffers than parts.
    expect(pushedPartBuffers(plan(3, MiB), 8, 256 * MiB)).toEqual({ bufferSize: MiB, buffers: 3, inFlight: 3 });
    // A one-part plan needs only its own length.
    expect(pushedPartBuffers(plan(1, 8 * MiB, 3 * MiB), 4, 4 * MiB)).toEqual({ bufferSize: 3 * MiB, buffers: 1, inFlight: 1 });
  });

  it('a part that cannot fit: pushed is an error, pulled streams it (no buffer)', () => {
    expect(() => pushedPartBuffers(plan(4, 2 * MiB), 4, MiB)).toThrow(MemoryLimitError);
    expect(pulledPartBuffers(plan(4, 2 * MiB), 4, MiB)).toBeUndefined();
  });
});

describe('the budget end to end, with parts held by the server', () => {
  const API_KEY = 'sk_live_budget_secret_2';
  const fixture = emulatorFixture({ apiKey: API_KEY, partSize: MiB, hashing: 'sha256' });

  it('uploadFile at concurrency 8 within 2.5 parts of memory: 2 part buffers, 2 parts in flight', async () => {
    // Every part is held 150 ms: a file is read far faster, so without the budget 8 would be in flight.
    const e = await fixture.start({ mode: 'multipart', faults: [{ route: 'part', action: { type: 'delay', ms: 150 } }] });
    const dir = mkdtempSync(join(tmpdir(), 'budget-'));
    try {
      const path = join(dir, 'clip.mp4');
      const data = bytes(10 * MiB, 31);
      writeFileSync(path, data);
      await watchingBuffers(MiB, async (watch) => {
        const result = await uploadFile(path, { ...fixture.uploadOptions(e, undefined), concurrency: 8, maxBufferMemory: 2.5 * MiB });
        expect(e.media(result.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
        expect(watch.allocated().length).toBeLessThanOrEqual(2);
      });
      expect(e.stats.maxConcurrentPuts).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
