import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../lib/emulator';
import {
  AbortError,
  EmptySourceError,
  InvalidOptionsError,
  type ResumeInfo,
  type S3UploadOptions,
  SourceChangedError,
  SourceReadError,
  uploadFromS3,
} from '../lib/index';
import { type FakeS3, startFakeS3 } from './cli/s3rver';
import { KiB, MiB, bytes, fastRetry, sha256 } from './helpers';
import { type CuttingLink, startCuttingLink } from '../benchmarks/lib/cutting-link.mjs';

const API_KEY = 'sk_live_s3_secret_33';
const P = 256 * KiB;
const BUCKET = 'media';
let s3: FakeS3;
let emu: Emulator | undefined;
let link: CuttingLink | undefined;
let dir: string;

beforeAll(async () => {
  s3 = await startFakeS3();
  await s3.createBucket(BUCKET);
});

afterAll(async () => {
  await s3.close();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'upload-s3-'));
  s3.requests.length = 0;
  s3.headers.length = 0;
});

afterEach(async () => {
  await emu?.close();
  await link?.close();
  emu = link = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function emulator(partSize = P): Promise<Emulator> {
  emu = await startEmulator({ apiKey: API_KEY, partSize, hashing: 'sha256' });
  return emu;
}

function options(e: Emulator, extra: Partial<S3UploadOptions> = {}): S3UploadOptions {
  return { apiKey: API_KEY, connectionId: 'conn_test', baseUrl: e.url, ...fastRetry, ...extra };
}

/** The GetObject requests that read a range, with their headers. */
function rangeGets(): { path: string; range: string | undefined; ifMatch: string | undefined }[] {
  return s3.requests
    .map((line, i) => ({ line, headers: s3.headers[i]! }))
    .filter(({ line, headers }) => line.startsWith('GET ') && headers.range !== undefined)
    .map(({ line, headers }) => ({ path: line.slice(4), range: headers.range as string, ifMatch: headers['if-match'] as string | undefined }));
}

describe('uploadFromS3', () => {
  it('reads each part by its exact range with IfMatch on the ETag; the vault stores the same bytes, named and typed from the object', async () => {
    const e = await emulator();
    const data = bytes(7 * P + 99, 31);
    await s3.put(BUCKET, 'videos/Take 1.mov', data, 'video/quicktime');
    const result = await uploadFromS3({ client: s3.client, Bucket: BUCKET, Key: 'videos/Take 1.mov' }, options(e, { concurrency: 3 }));
    expect(result.download).toEqual({ mode: 'ranged', bytes: data.length, requests: 8, rereads: 0 });
    expect(e.media(result.mediaUploadId)).toMatchObject({ filename: 'Take 1.mov', contentType: 'video/quicktime', size: data.length, sha256: sha256(data) });
    const gets = rangeGets();
    expect(gets.map((g) => g.range).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `bytes=${i * P}-${Math.min((i + 1) * P, data.length) - 1}`).sort());
    const etag = `"${createHash('md5').update(data).digest('hex')}"`;
    for (const get of gets) expect(get.ifMatch).toBe(etag);
  });

  it('behind a link that cuts connections (about one per 2 MiB): intact, downloads stay near the size', async () => {
    const e = await emulator(MiB);
    const data = bytes(24 * MiB, 32);
    await s3.put(BUCKET, 'cut.mp4', data);
    link = await startCuttingLink(s3.s3rverPort, 2 * MiB, 11);
    const client = new S3Client({ endpoint: link.url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      const result = await uploadFromS3({ client, Bucket: BUCKET, Key: 'cut.mp4' }, options(e, { concurrency: 4 }));
      expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
      expect(link.cuts).toBeGreaterThan(5);
      expect(result.download.rereads).toBeGreaterThan(0);
      expect(result.download.bytes).toBe(data.length);
      expect(link.bytesDown).toBeLessThanOrEqual(1.25 * data.length);
    } finally {
      client.destroy();
    }
  });

  it('an object replaced after it was opened fails typed (SourceChangedError), never finalized', async () => {
    const e = await emulator();
    await s3.put(BUCKET, 'swap.mp4', bytes(6 * P, 33));
    // The object is replaced between HeadObject (which pinned its ETag) and the first range read:
    // certain, and never while s3rver is still writing it.
    const client = {
      send: async (command: object, options?: { abortSignal?: AbortSignal }) => {
        const answer = await s3.client.send(command as never, options);
        if (command.constructor.name === 'HeadObjectCommand') await s3.put(BUCKET, 'swap.mp4', bytes(6 * P, 34));
        return answer;
      },
    };
    const error = await uploadFromS3({ client, Bucket: BUCKET, Key: 'swap.mp4' }, options(e, { concurrency: 1 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceChangedError);
    expect((error as SourceChangedError).path).toBe(`s3://${BUCKET}/swap.mp4`);
    expect(e.requests.filter((r) => r.route === 'part' || r.route === 'complete')).toHaveLength(0);
  });

  it('a missing object or bucket fails at HeadObject, typed; an empty one is EmptySourceError; bad refs are refused', async () => {
    const e = await emulator();
    const missing = await uploadFromS3({ client: s3.client, Bucket: BUCKET, Key: 'nope.mp4' }, options(e)).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(SourceReadError);
    expect(missing).toMatchObject({ status: 404, source: `s3://${BUCKET}/nope.mp4` });
    await s3.put(BUCKET, 'empty.mp4', Buffer.alloc(0));
    await expect(uploadFromS3({ client: s3.client, Bucket: BUCKET, Key: 'empty.mp4' }, options(e))).rejects.toBeInstanceOf(EmptySourceError);
    await expect(uploadFromS3({ client: {} as S3Client, Bucket: BUCKET, Key: 'x' }, options(e))).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(uploadFromS3({ client: s3.client, Bucket: '', Key: 'x' }, options(e))).rejects.toThrow(/Bucket/);
    expect(e.requests).toHaveLength(0);
  });

  it('aborted after some parts, the same call again reads and sends only the missing parts', async () => {
    const e = await emulator();
    const data = bytes(10 * P, 35);
    await s3.put(BUCKET, 'resume.mp4', data);
    const ref = { client: s3.client, Bucket: BUCKET, Key: 'resume.mp4' };
    const controller = new AbortController();
    const first = await uploadFromS3(ref, {
      ...options(e, { concurrency: 1, resume: { dir } }),
      signal: controller.signal,
      onProgress: (p) => {
        if (p.partsCompleted === 4) controller.abort();
      },
    }).catch((caught: unknown) => caught);
    expect(first).toBeInstanceOf(AbortError);
    const sent = e.requests.filter((r) => r.route === 'part').length;
    const readBefore = rangeGets().length;
    const seen: ResumeInfo[] = [];
    const result = await uploadFromS3(ref, options(e, { concurrency: 1, resume: { dir }, onResume: (info) => seen.push(info) }));
    expect(seen).toEqual([expect.objectContaining({ restarted: false, partsDone: sent })]);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(rangeGets().length - readBefore).toBe(10 - sent);
    expect(result.download.bytes).toBe((10 - sent) * P);
  });
});
