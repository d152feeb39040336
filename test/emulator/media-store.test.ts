import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_FORGET_AFTER_MS, startEmulator, type Emulator, type MediaType } from '../../lib/emulator';
import { mediaTypeOf } from '../../lib/emulator/media-store';
import { resolveOptions } from '../../lib/emulator/options';
import { uploadToVault } from '../../lib/index';
import { CONNECTION, auth, complete, data, initPlan, post, put, putPart, sha256 } from './helpers';

// A long-running emulator (`ofauth-upload emulator` as a shared test server) forgets finalized
// and expired sessions `forgetAfterMs` later: they then answer as unknown ones do.

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = (epochMs: number) => wait(Math.max(0, epochMs - Date.now()));

describe('forgetting sessions', () => {
  it('a finalized session is answered while fresh, then forgotten: 404 as an unknown id, gone from media(), uploads() and check', async () => {
    emulator = await startEmulator({ partSize: 10, forgetAfterMs: 500 });
    const file = data(25, 1);
    const plan = await initPlan(emulator, file.length);
    for (const part of plan.parts) expect((await putPart(emulator, plan, file, part.partNumber)).status).toBe(200);
    expect((await complete(emulator, plan.mediaUploadId)).status).toBe(200);
    const finalizedBy = Date.now();
    // Still there just after: complete is idempotent, check finds it.
    expect((await complete(emulator, plan.mediaUploadId)).status).toBe(200);
    const check = () => post(`${emulator!.url}/v2/access/uploads/check`, { etag: sha256(file), size: file.length }, auth(emulator!));
    expect((await check()).json).toMatchObject({ exists: true });
    expect(emulator.media(plan.mediaUploadId)?.completed).toBe(true);

    await until(finalizedBy + 550);
    const again = await complete(emulator, plan.mediaUploadId);
    expect(again.status).toBe(404);
    expect(again.json).toEqual((await complete(emulator, 'upload:never-existed')).json);
    expect((await putPart(emulator, plan, file, 1)).status).toBe(404);
    expect(emulator.media(plan.mediaUploadId)).toBeUndefined();
    expect(emulator.uploads()).toEqual([]);
    expect((await check()).json).toEqual({ exists: false });
  });

  it('an unfinished session lives until it expires, answers 410 for forgetAfterMs, then 404', async () => {
    emulator = await startEmulator({ partSize: 10, expiresInMs: 400, forgetAfterMs: 400 });
    const plan = await initPlan(emulator, 25);
    const expiresAt = Date.parse(plan.expiresAt);
    expect((await put(plan.parts[0]!.uploadUrl, Buffer.alloc(10), auth(emulator))).status).toBe(200);
    await until(expiresAt + 50);
    expect((await put(plan.parts[1]!.uploadUrl, Buffer.alloc(10), auth(emulator))).status).toBe(410);
    await until(expiresAt + 450);
    expect((await put(plan.parts[1]!.uploadUrl, Buffer.alloc(10), auth(emulator))).status).toBe(404);
    const single = await put(`${emulator.url}/v2/access/uploads/${encodeURIComponent(plan.mediaUploadId)}`, Buffer.alloc(25), auth(emulator));
    expect(single.status).toBe(404);
  });

  it('forgetting is not expiring: an open session with time left is kept even with forgetAfterMs 0', async () => {
    emulator = await startEmulator({ partSize: 10, forgetAfterMs: 0 });
    const file = data(25, 2);
    const plan = await initPlan(emulator, file.length);
    await wait(30);
    for (const part of plan.parts) expect((await putPart(emulator, plan, file, part.partNumber)).status).toBe(200);
    expect((await complete(emulator, plan.mediaUploadId)).status).toBe(200);
  });

  it('sessions nobody asks for again are swept too, releasing the parts they held', async () => {
    emulator = await startEmulator({ partSize: 10, expiresInMs: 100, forgetAfterMs: 0 });
    const plan = await initPlan(emulator, 25);
    // Part 2 without part 1: held for in-order hashing.
    expect((await put(plan.parts[1]!.uploadUrl, Buffer.alloc(10), auth(emulator))).status).toBe(200);
    expect(emulator.stats.heldBytes).toBe(10);
    // Past expiry and the once-a-second sweep: any request sweeps, here an init for another file.
    await wait(1_150);
    await initPlan(emulator, 5);
    expect(emulator.stats.heldBytes).toBe(0);
    expect(emulator.uploads().map((u) => u.mediaUploadId)).not.toContain(plan.mediaUploadId);
  });

  it('forgets after a few minutes by default; Infinity never forgets; bad values are refused at start', async () => {
    expect(resolveOptions({}).forgetAfterMs).toBe(DEFAULT_FORGET_AFTER_MS);
    expect(DEFAULT_FORGET_AFTER_MS).toBeGreaterThanOrEqual(60_000);
    expect(DEFAULT_FORGET_AFTER_MS).toBeLessThanOrEqual(30 * 60_000);
    emulator = await startEmulator({ partSize: 10, expiresInMs: -1, forgetAfterMs: Infinity });
    const plan = await initPlan(emulator, 5);
    expect((await put(plan.parts[0]!.uploadUrl, Buffer.alloc(5), auth(emulator))).status).toBe(410);
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expect(startEmulator({ forgetAfterMs: bad })).rejects.toThrow(/forgetAfterMs/);
      await expect(startEmulator({ maxRequestLog: bad })).rejects.toThrow(/maxRequestLog/);
      await expect(startEmulator({ maxHeldParts: bad })).rejects.toThrow(/maxHeldParts/);
    }
  });
});

// The protocol's media kinds are photo, video, gif and audio (PROTOCOL.md, complete's answer).
const CASES: [contentType: string, type: MediaType][] = [
  ['image/gif', 'gif'],
  ['IMAGE/GIF; charset=binary', 'gif'],
  ['image/jpeg', 'photo'],
  ['image/png', 'photo'],
  ['image/webp', 'photo'],
  ['video/mp4', 'video'],
  ['video/quicktime', 'video'],
  ['audio/mpeg', 'audio'],
  ['audio/L16;rate=48000;channels=2', 'audio'],
  [' Audio/Ogg ', 'audio'],
  // No "document" kind exists: anything else is the vault's default, a video.
  ['application/octet-stream', 'video'],
  ['application/pdf', 'video'],
];

describe('media type from the content type', () => {
  it.each(CASES)('%s → %s', (contentType, type) => {
    expect(mediaTypeOf(contentType)).toBe(type);
  });

  describe('in the media the emulator answers', () => {
    let emulator: Emulator;
    beforeAll(async () => {
      emulator = await startEmulator({ partSize: 1000 });
    });
    beforeEach(() => emulator.reset());
    afterAll(() => emulator.close());

    // Both ways an upload is finalized: the single PUT (500 bytes) and complete after parts (2500).
    it.each(CASES.flatMap(([contentType, type]) => [500, 2500].map((size) => [contentType, size, type] as const)))(
      '%s, %i bytes → %s',
      async (contentType, size, type) => {
        const file = data(size, 51);
        const result = await uploadToVault(file, { baseUrl: emulator.url, apiKey: emulator.apiKey, connectionId: CONNECTION, filename: 'f', contentType, size });
        expect(result.media).toMatchObject({ type });
        expect(emulator.media(result.mediaUploadId)?.uploadType).toBe(size > 1000 ? 'multipart' : 'single');
      },
    );
  });
});
