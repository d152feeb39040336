import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFAuthUploadStream } from '../../lib/index';
import { type ChildEmulator, startChildEmulator } from '../emulator-child';
import { KiB, MiB, writeRecycling } from '../helpers';

const UPLOADS = 20;
const PART_SIZE = 1 * MiB;
const CONCURRENCY = 2;
const SIZE = 6 * MiB + 12_345;
const CHUNK = 64 * KiB;

let server: ChildEmulator;

beforeAll(async () => {
  server = await startChildEmulator({ partSize: PART_SIZE, mode: 'multipart' });
}, 120_000);

afterAll(async () => {
  await server.close();
});

/**
 * The source recycles a ring of RING chunk buffers, as some real sources do: if the uploader kept
 * a view of a chunk after its write callback, the overwritten bytes would break the stored
 * sha256. The ring also keeps dead source chunks out of the memory figures.
 */
const RING = 8;

describe('load', () => {
  it(`${UPLOADS} uploads at once on one dispatcher arrive intact, within the sum of their memory bounds`, async () => {
    const dispatcher = new Agent({ connections: 64 });
    global.gc?.();
    const baseline = process.memoryUsage();
    let peakExternal = 0;
    let peakRss = 0;
    const sample = () => {
      const m = process.memoryUsage();
      peakExternal = Math.max(peakExternal, m.arrayBuffers - baseline.arrayBuffers);
      peakRss = Math.max(peakRss, m.rss - baseline.rss);
    };
    const timer = setInterval(sample, 5);
    try {
      const uploads = Array.from({ length: UPLOADS }, async (_, i) => {
        const upload = new OFAuthUploadStream({
          apiKey: server.apiKey, connectionId: 'load', baseUrl: server.url, filename: `load-${i}.bin`,
          contentType: 'video/mp4', size: SIZE, concurrency: CONCURRENCY, dispatcher,
        });
        upload.on('part', sample);
        const sha256 = await writeRecycling(upload, SIZE, i + 1, CHUNK, RING);
        return { id: upload.result!.mediaUploadId, sha256 };
      });
      const results = await Promise.all(uploads);
      for (const r of results) {
        const media = await server.media(r.id);
        expect(media?.sha256).toBe(r.sha256);
        expect(media?.size).toBe(SIZE);
      }
    } finally {
      clearInterval(timer);
      await dispatcher.close();
    }
    const bound = UPLOADS * (CONCURRENCY + 1) * PART_SIZE;
    // Part buffers live outside the JS heap: arrayBuffers is where they show. The slack covers
    // each source's own ring of chunks and a chunk or two in the sockets' write buffers.
    const slack = UPLOADS * (RING + 2) * CHUNK + 4 * MiB;
    console.log(
      `[load] ${UPLOADS} uploads × ${(SIZE / MiB).toFixed(1)} MiB: peak external +${(peakExternal / MiB).toFixed(1)} MiB, ` +
        `peak RSS +${(peakRss / MiB).toFixed(1)} MiB, bound ${(bound / MiB).toFixed(0)} MiB`,
    );
    expect(peakExternal).toBeGreaterThan(UPLOADS * PART_SIZE); // it really was loaded
    expect(peakExternal).toBeLessThanOrEqual(bound + slack);
    expect(peakRss).toBeLessThanOrEqual(bound + slack + 64 * MiB);
  });
});
