import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OFAuthApiError, type OFAuthUploadOptions, UploadExpiredError, uploadFile, uploadToVault } from '../lib/index';
import { bytes, fastRetry, sha256, source } from './helpers';
import { type OnePartPlan, type PresignedApi, type PresignedApiOptions, type ProxiedRequest, type S3Backend, startPresignedApi, startS3Backend } from './s3-presigned-api';

// The client against a real S3 implementation (s3rver) through presigned URLs: UploadPart's
// semantics (ETag header, empty body, XML errors) and a presigned URL's expiry, not only the
// package's emulator. See test/s3-presigned-api.ts for the API in front of it.

const API_KEY = 'sk_live_presigned_secret_41';
const CONNECTION_ID = 'conn_presigned_7';
/** Odd, so every part but the last is an odd size, and the last another (s3rver has no 5 MiB minimum). */
const PART = 262_147;

let backend: S3Backend;
let dir: string;
let apis: PresignedApi[] = [];

beforeAll(async () => {
  backend = await startS3Backend();
  dir = mkdtempSync(join(tmpdir(), 's3-presigned-'));
});
afterAll(async () => {
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  const closing = apis;
  apis = [];
  await Promise.all(closing.map((api) => api.close()));
});

async function api(options: Partial<PresignedApiOptions> = {}): Promise<PresignedApi> {
  const started = await startPresignedApi(backend, { apiKey: API_KEY, connectionId: CONNECTION_ID, partSize: PART, ...options });
  apis.push(started);
  return started;
}

function options(a: PresignedApi, size?: number): OFAuthUploadOptions {
  return {
    apiKey: API_KEY,
    connectionId: CONNECTION_ID,
    baseUrl: a.url,
    filename: 'clip.mp4',
    contentType: 'video/mp4',
    ...(size === undefined ? {} : { size }),
    retries: 2,
    ...fastRetry,
  };
}

let files = 0;
function file(data: Uint8Array): string {
  const path = join(dir, `clip-${++files}.mp4`);
  writeFileSync(path, data);
  return path;
}

const inits = (a: PresignedApi) => a.calls.filter((c) => c.route === 'init');
const completes = (a: PresignedApi) => a.calls.filter((c) => c.route === 'complete');

/**
 * Presigned URLs carry their own credentials: the API's must never reach the storage. And only
 * Content-Length goes with a part: a presigned URL may have signed any other header.
 */
function expectNoApiCredentials(requests: readonly ProxiedRequest[]): void {
  expect(requests.length).toBeGreaterThan(0);
  for (const r of requests) {
    expect(Object.keys(r.headers)).not.toContain('apikey');
    expect(Object.keys(r.headers)).not.toContain('x-connection-id');
    expect(Object.keys(r.headers)).not.toContain('authorization');
    expect(JSON.stringify(r.headers)).not.toContain(API_KEY);
    expect(r.url).not.toContain(API_KEY);
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.signature).toBe('valid');
  }
}

/** Every part of the session stored exactly once, with the sizes of its plan; the client's receipts carry S3's ETags. */
function expectPartsTracked(a: PresignedApi, mediaUploadId: string, sizes: number[], receipts: ReadonlyArray<{ partNumber: number; etag?: string }>): void {
  const session = a.session(mediaUploadId)!;
  const parts = backend.parts(session.uploadId!);
  expect([...parts.keys()].sort((x, y) => x - y)).toEqual(sizes.map((_, i) => i + 1));
  expect(sizes.map((_, i) => parts.get(i + 1)!.bytes)).toEqual(sizes);
  const puts = a.storageRequests(mediaUploadId).filter((r) => r.method === 'PUT');
  expect(puts.filter((r) => r.status === 200)).toHaveLength(sizes.length);
  for (const put of puts) expect(put.headers['content-length']).toBe(String(put.bytes));
  expect(receipts.map((r) => [r.partNumber, r.etag?.replace(/"/g, '')])).toEqual(sizes.map((_, i) => [i + 1, parts.get(i + 1)!.md5]));
}

describe('presigned S3 part URLs (s3rver)', () => {
  it('uploadFile: 8 odd-sized parts arrive byte-identical; no API credential reaches the storage', async () => {
    const a = await api();
    const data = bytes(7 * PART + 100_001, 41);
    const result = await uploadFile(file(data), options(a));
    expect(inits(a)).toHaveLength(1);
    expect(a.completed()).toEqual([result.mediaUploadId]);
    expect(result.media?.id).toBe(a.session(result.mediaUploadId)!.mediaId);
    expect(await a.stored(result.mediaUploadId)).toEqual({ sha256: sha256(data), size: data.length, contentType: 'video/mp4' });
    expectPartsTracked(a, result.mediaUploadId, [...Array(7).fill(PART), 100_001], result.parts);
    expectNoApiCredentials(a.storageRequests(result.mediaUploadId));
  });

  it('the spool (no size): 7 odd-sized parts from a stream of odd chunks arrive byte-identical', async () => {
    const a = await api();
    const data = bytes(6 * PART + 12_345, 42);
    const result = await uploadToVault(source(data, (i) => 1 + ((i * 7919) % 50_000)), options(a));
    expect(inits(a)).toHaveLength(1);
    expect(a.completed()).toEqual([result.mediaUploadId]);
    expect(await a.stored(result.mediaUploadId)).toMatchObject({ sha256: sha256(data), size: data.length });
    expectPartsTracked(a, result.mediaUploadId, [...Array(6).fill(PART), 12_345], result.parts);
    expectNoApiCredentials(a.storageRequests(result.mediaUploadId));
  });

  describe('a one-part upload', () => {
    const cases: ReadonlyArray<[OnePartPlan, string]> = [
      ['multipart', 'a multipart plan of one presigned UploadPart URL, then complete'],
      ['single-presigned', 'a single plan with a presigned PutObject URL, then complete'],
      ['single-api', "a single plan whose part is the API's own single PUT, which finalizes"],
    ];
    for (const [onePart, name] of cases) {
      it(`${name}: stored byte-identical`, async () => {
        const a = await api({ onePart });
        const data = bytes(54_321, 43);
        const result = await uploadFile(file(data), options(a));
        expect(inits(a)).toHaveLength(1);
        expect(a.session(result.mediaUploadId)?.plan).toBe(onePart);
        expect(a.completed()).toEqual([result.mediaUploadId]);
        expect(await a.stored(result.mediaUploadId)).toMatchObject({ sha256: sha256(data), size: data.length });
        const storage = a.storageRequests(result.mediaUploadId);
        if (onePart === 'single-api') {
          // The API stored it itself: no request of the client's reached the storage, and no complete.
          expect(storage).toEqual([]);
          expect(a.calls.filter((c) => c.route === 'single')).toEqual([{ route: 'single', status: 200 }]);
          expect(completes(a)).toHaveLength(0);
          return;
        }
        expect(completes(a)).toEqual([{ route: 'complete', status: 200 }]);
        if (onePart === 'multipart') expectPartsTracked(a, result.mediaUploadId, [54_321], result.parts);
        else {
          expect(storage.map((r) => [r.method, r.status, r.signature, r.bytes])).toEqual([['PUT', 200, 'valid', 54_321]]);
          expect(result.parts[0]?.etag?.replace(/"/g, '')).toBe(storage[0]!.md5);
        }
        expectNoApiCredentials(storage);
      });
    }
  });

  it('expired presigned URLs (403 Request has expired): uploadFile starts one new session and stores the file', async () => {
    const a = await api({ expireFirstSession: true });
    const data = bytes(7 * PART + 3, 44);
    const resumeDir = join(dir, 'journal');
    const sessions: string[] = [];
    const result = await uploadFile(file(data), { ...options(a), resume: { dir: resumeDir }, onSession: (s) => sessions.push(s.mediaUploadId) });
    expect(inits(a)).toHaveLength(2);
    expect(sessions).toEqual(a.sessions.map((s) => s.mediaUploadId));
    expect(result.mediaUploadId).toBe(sessions[1]);
    expect(a.completed()).toEqual([sessions[1]]);
    expect(await a.stored(result.mediaUploadId)).toMatchObject({ sha256: sha256(data), size: data.length });
    expectPartsTracked(a, result.mediaUploadId, [...Array(7).fill(PART), 3], result.parts);
    // The first session's URLs met S3's refusal, and not one of its parts was stored.
    const first = a.storageRequests(sessions[0]!);
    const refused = first.filter((r) => r.status === 403);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.answer).toMatch(/<Code>AccessDenied<\/Code>/);
    expect(refused[0]!.answer).toMatch(/Request has expired/);
    // Each answered 403, unless the client had already abandoned it (the session had failed).
    for (const r of first) expect([r.signature, r.status === 403 || (r.aborted && r.status === 0)]).toEqual(['valid', true]);
    expect(backend.parts(a.session(sessions[0]!)!.uploadId!).size).toBe(0);
    expectNoApiCredentials([...first, ...a.storageRequests(result.mediaUploadId)]);
    // The journal followed the new session and is gone once it completed.
    expect(readdirSync(resumeDir).filter((name) => name.endsWith('.json'))).toEqual([]);
  });

  it('expired presigned URLs: a live stream of known size cannot be read again → UploadExpiredError after one init', async () => {
    const a = await api({ expireFirstSession: true });
    const data = bytes(5 * PART + 77, 45);
    const error = await uploadToVault(source(data, 16_384), options(a, data.length)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UploadExpiredError);
    expect((error as Error).cause).toBeInstanceOf(OFAuthApiError);
    expect((error as Error).cause).toMatchObject({ status: 403 });
    expect(inits(a)).toHaveLength(1);
    expect(completes(a)).toHaveLength(0);
    expect(a.completed()).toEqual([]);
    const refused = a.storageRequests(a.sessions[0]!.mediaUploadId).filter((r) => r.status === 403);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => /Request has expired/.test(r.answer))).toBe(true);
  });
});
