import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../lib/emulator';
import { auth, complete, data, initPlan, put, sha256, slice } from './helpers';

describe('foreign origin (presigned part URLs)', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ partSize: 1000, foreignOrigin: true });
  });
  afterAll(() => emulator.close());

  it('puts multipart uploadUrls on another origin, signed, and accepts them without credentials', async () => {
    const file = data(2500, 21);
    const plan = await initPlan(emulator, file.length);
    expect(emulator.foreignUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.foreignUrl).not.toBe(emulator.url);
    expect(plan.completeUrl).toBe(`${emulator.url}/v2/access/uploads/complete`);
    for (const part of plan.parts) {
      const url = new URL(part.uploadUrl);
      expect(url.origin).toBe(emulator.foreignUrl);
      expect(url.searchParams.get('X-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(url.searchParams.get('X-Expires')).toMatch(/^\d+$/);
      const answer = await put(part.uploadUrl, slice(file, part.byteRange), {});
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ partNumber: part.partNumber });
    }
    expect((await complete(emulator, plan.mediaUploadId)).status).toBe(200);
    expect(emulator.media(plan.mediaUploadId)?.sha256).toBe(sha256(file));
    const partRecord = emulator.requests.find((r) => r.server === 'foreign');
    expect(partRecord).toMatchObject({ route: 'part', partNumber: 1, mediaUploadId: plan.mediaUploadId });
    expect(partRecord?.path.includes('?')).toBe(false);
  });

  it('rejects credential headers with 400 and counts the violation, without storing', async () => {
    const file = data(1500, 22);
    const plan = await initPlan(emulator, file.length);
    const part = plan.parts[0]!;
    const before = emulator.stats.authViolations;
    const withKey = await put(part.uploadUrl, slice(file, part.byteRange), auth(emulator));
    expect(withKey.status).toBe(400);
    expect(withKey.text).not.toContain(emulator.apiKey);
    const withConnection = await put(part.uploadUrl, slice(file, part.byteRange), { 'x-connection-id': 'c' });
    expect(withConnection.status).toBe(400);
    expect(emulator.stats.authViolations).toBe(before + 2);
    expect(emulator.media(plan.mediaUploadId)?.parts).toEqual([]);
    expect(JSON.stringify(emulator.requests)).not.toContain(emulator.apiKey);
  });

  it('rejects a bad or missing signature with 403', async () => {
    const plan = await initPlan(emulator, 1500);
    const part = plan.parts[0]!;
    const url = new URL(part.uploadUrl);
    const signature = url.searchParams.get('X-Signature') ?? '';
    url.searchParams.set('X-Signature', `${signature[0] === '0' ? '1' : '0'}${signature.slice(1)}`);
    expect((await put(url.toString(), Buffer.alloc(1000), {})).status).toBe(403);
    // A signature for part 1 does not open part 2.
    const other = new URL(plan.parts[1]!.uploadUrl);
    other.searchParams.set('X-Signature', signature);
    expect((await put(other.toString(), Buffer.alloc(500), {})).status).toBe(403);
    expect((await put(part.uploadUrl.split('?')[0] ?? '', Buffer.alloc(1000), {})).status).toBe(403);
    expect(emulator.media(plan.mediaUploadId)?.parts).toEqual([]);
  });

  it('keeps single plans on the API origin', async () => {
    const plan = await initPlan(emulator, 10);
    expect(new URL(plan.parts[0]!.uploadUrl).origin).toBe(emulator.url);
  });
});
