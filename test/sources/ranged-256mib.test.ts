import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../lib/emulator';
import { uploadFromS3, uploadFromUrl } from '../../lib/index';
import { type FakeS3, startFakeS3 } from '../cli/s3rver';
import { MiB, SKIP_BUT_ONCE_IN_CI, bytes, fastRetry, sha256 } from '../helpers';
import { type CuttingLink, startCuttingLink } from '../../benchmarks/lib/cutting-link.mjs';
import { type RangeServer, startRangeServer } from './range-server';

// The bar: 256 MiB behind a link cutting about one connection per 32 MiB, intact, with
// at most 1.25 × the size downloaded. 8 MiB parts (the API's usual), concurrency 4.
const SIZE = 256 * MiB;
const API_KEY = 'sk_live_large_secret_44';
let emu: Emulator | undefined;
let link: CuttingLink | undefined;
let server: RangeServer | undefined;
let s3: FakeS3 | undefined;

afterEach(async () => {
  await emu?.close();
  await link?.close();
  await server?.close();
  await s3?.close();
  emu = link = server = s3 = undefined;
});

// Half a minute per Node major: in CI once, on the newest.
describe.skipIf(SKIP_BUT_ONCE_IN_CI)('256 MiB behind a cutting link', () => {
  let data: Buffer;
  let digest: string;
  beforeAll(() => {
    data = bytes(SIZE, 256);
    digest = sha256(data);
  });

  it('from a URL', { timeout: 120_000 }, async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: 8 * MiB, hashing: 'sha256' });
    server = await startRangeServer({ '/big.mp4': { data } });
    link = await startCuttingLink(server.port, 32 * MiB, 22);
    const result = await uploadFromUrl(`${link.url}/big.mp4`, { apiKey: API_KEY, connectionId: 'c', baseUrl: emu.url, concurrency: 4, ...fastRetry });
    expect(emu.media(result.mediaUploadId)?.sha256).toBe(digest);
    expect(link.cuts).toBeGreaterThanOrEqual(4);
    expect(link.bytesDown).toBeLessThanOrEqual(1.25 * SIZE);
    expect(result.download.bytes).toBe(SIZE);
  });

  it('from S3 (s3rver)', { timeout: 120_000 }, async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: 8 * MiB, hashing: 'sha256' });
    s3 = await startFakeS3();
    await s3.createBucket('big');
    await s3.put('big', 'big.mp4', data);
    link = await startCuttingLink(s3.s3rverPort, 32 * MiB, 23);
    const client = new S3Client({ endpoint: link.url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      const result = await uploadFromS3({ client, Bucket: 'big', Key: 'big.mp4' }, { apiKey: API_KEY, connectionId: 'c', baseUrl: emu.url, concurrency: 4, ...fastRetry });
      expect(emu.media(result.mediaUploadId)?.sha256).toBe(digest);
      expect(link.cuts).toBeGreaterThanOrEqual(4);
      expect(link.bytesDown).toBeLessThanOrEqual(1.25 * SIZE);
      expect(result.download.bytes).toBe(SIZE);
    } finally {
      client.destroy();
    }
  });
});
