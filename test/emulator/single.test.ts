import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../lib/emulator';
import { MiB, auth, chunked, complete, data, init, initPlan, md5Etag, put, putPart, sha256, slice } from './helpers';

describe('single-part-and-finalize', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ partSize: MiB });
  });
  beforeEach(() => emulator.reset());
  afterAll(() => emulator.close());

  it('a single plan PUT finalizes; complete afterwards answers the same media', async () => {
    const file = data(300_000, 11);
    const plan = await initPlan(emulator, file.length, { contentType: 'image/jpeg' });
    const answer = await put(plan.parts[0]!.uploadUrl, file, auth(emulator));
    expect(answer.status).toBe(200);
    const body = answer.json as { mediaUploadId: string; media: { type: string; files: { full: { size: number } } } };
    expect(body.mediaUploadId).toBe(plan.mediaUploadId);
    expect(body.media).toMatchObject({ type: 'photo', isReady: true, hasError: false, files: { full: { size: file.length } } });
    expect(emulator.media(plan.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(file) });
    expect(emulator.media(plan.mediaUploadId)?.bytes).toBeUndefined();
    const again = await complete(emulator, plan.mediaUploadId);
    expect(again.json).toEqual(answer.json);
    expect(emulator.stats).toMatchObject({ singlePuts: 1, completeCalls: 1 });
  });

  it('streams a body sent in many small writes, hashing as it arrives', async () => {
    const file = data(3 * MiB + 5, 12);
    const emulatorPlanless = await startEmulator({ mode: 'planless' });
    try {
      const { mediaUploadId } = (await init(emulatorPlanless, file.length)).json as { mediaUploadId: string };
      const pieces = Readable.from((function* () {
        for (let at = 0; at < file.length; at += 16_384) yield file.subarray(at, at + 16_384);
      })());
      const url = `${emulatorPlanless.url}/v2/access/uploads/${encodeURIComponent(mediaUploadId)}`;
      const answer = await put(url, pieces, { ...auth(emulatorPlanless), 'content-length': String(file.length) });
      expect(answer.status).toBe(200);
      expect(emulatorPlanless.media(mediaUploadId)).toMatchObject({ uploadType: 'planless', completed: true, sha256: sha256(file), size: file.length });
      expect(emulatorPlanless.stats.maxHeldBytes).toBe(0);
    } finally {
      await emulatorPlanless.close();
    }
  });

  it('planless: complete before the PUT is a 409, parts are unknown, wrong length is 400, chunked 411', async () => {
    const planless = await startEmulator({ mode: 'planless' });
    try {
      const { mediaUploadId } = (await init(planless, 100)).json as { mediaUploadId: string };
      const url = `${planless.url}/v2/access/uploads/${encodeURIComponent(mediaUploadId)}`;
      expect((await complete(planless, mediaUploadId)).status).toBe(409);
      expect((await put(`${url}/parts/1`, Buffer.alloc(100), auth(planless))).status).toBe(400);
      expect((await put(url, Buffer.alloc(99), auth(planless))).status).toBe(400);
      expect((await put(url, chunked(Buffer.alloc(100)), auth(planless))).status).toBe(411);
      expect(planless.media(mediaUploadId)?.completed).toBe(false);
      const done = await put(url, Buffer.alloc(100), auth(planless));
      expect(done.status).toBe(200);
      expect((await complete(planless, mediaUploadId)).json).toEqual(done.json);
    } finally {
      await planless.close();
    }
  });

  it('a retried single PUT with the same bytes answers the same media; other bytes get 409', async () => {
    const file = data(1000, 13);
    const plan = await initPlan(emulator, file.length);
    const first = await put(plan.parts[0]!.uploadUrl, file, auth(emulator));
    const retry = await put(plan.parts[0]!.uploadUrl, file, auth(emulator));
    expect(retry.json).toEqual(first.json);
    expect((await put(plan.parts[0]!.uploadUrl, data(1000, 14), auth(emulator))).status).toBe(409);
  });

  it('a single PUT on a session that already has parts is a 409', async () => {
    const file = data(MiB + 10, 15);
    const plan = await initPlan(emulator, file.length);
    await putPart(emulator, plan, file, 1);
    const whole = await put(`${emulator.url}/v2/access/uploads/${encodeURIComponent(plan.mediaUploadId)}`, file, auth(emulator));
    expect(whole.status).toBe(409);
  });

  it('keepBytes keeps the bytes of a single PUT', async () => {
    const keeping = await startEmulator({ keepBytes: true });
    try {
      const file = data(5000, 16);
      const plan = await initPlan(keeping, file.length, { contentType: 'audio/mpeg' });
      const answer = await put(plan.parts[0]!.uploadUrl, file, auth(keeping));
      expect((answer.json as { media: { type: string } }).media.type).toBe('audio');
      expect(keeping.media(plan.mediaUploadId)?.bytes?.equals(file)).toBe(true);
    } finally {
      await keeping.close();
    }
  });
});

describe('hashing modes', () => {
  it("'sha256' keeps the whole-media sha256 but samples etags; 'none' hashes nothing and holds nothing", async () => {
    const file = data(3 * 200_000 + 17, 17);
    for (const hashing of ['sha256', 'none'] as const) {
      const emulator = await startEmulator({ hashing, partSize: 200_000 });
      try {
        const plan = await initPlan(emulator, file.length);
        for (const n of [4, 2, 3, 1]) {
          const answer = await putPart(emulator, plan, file, n);
          expect((answer.json as { etag: string }).etag).toMatch(/^"[0-9a-f]{32}"$/);
          expect(answer.json).not.toEqual(expect.objectContaining({ etag: md5Etag(slice(file, plan.parts[n - 1]!.byteRange)) }));
        }
        expect((await putPart(emulator, plan, file, 2)).status).toBe(200);
        expect((await put(plan.parts[1]!.uploadUrl, data(200_000, 99), auth(emulator))).status).toBe(409);
        expect((await complete(emulator, plan.mediaUploadId)).status).toBe(200);
        expect(emulator.media(plan.mediaUploadId)?.sha256).toBe(hashing === 'none' ? undefined : sha256(file));
        expect(emulator.stats.maxHeldBytes > 0).toBe(hashing !== 'none');
      } finally {
        await emulator.close();
      }
    }
  });
});
