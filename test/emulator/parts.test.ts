import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_HELD_PARTS, startEmulator, type Emulator } from '../../lib/emulator';
import { resolveOptions } from '../../lib/emulator/options';
import { uploadToVault } from '../../lib/index';
import { auth, chunked, complete, data, initPlan, md5Etag, post, put, putPart, settle, sha256, slice } from './helpers';

const PART = 64 * 1024;

describe('multipart', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ partSize: PART, keepBytes: true });
  });
  beforeEach(() => emulator.reset());
  afterAll(() => emulator.close());

  it('stores parts sent out of order and hashes the whole file in byte order', async () => {
    const file = data(PART * 4 + 1234);
    const plan = await initPlan(emulator, file.length);
    expect(plan.totalParts).toBe(5);
    for (const n of [3, 5, 1, 4, 2]) {
      const answer = await putPart(emulator, plan, file, n);
      const etag = md5Etag(slice(file, plan.parts[n - 1]!.byteRange));
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ mediaUploadId: plan.mediaUploadId, partNumber: n, etag });
      expect(answer.headers.etag).toBe(etag);
    }
    expect(emulator.stats.heldBytes).toBe(0);
    expect(emulator.stats.maxHeldBytes).toBeGreaterThan(0);
    const done = await complete(emulator, plan.mediaUploadId);
    expect(done.status).toBe(200);
    expect(done.json).toEqual({
      mediaUploadId: plan.mediaUploadId,
      media: {
        id: expect.stringMatching(/^\d+$/),
        type: 'video',
        isReady: true,
        hasError: false,
        createdAt: expect.any(String),
        files: { full: { url: expect.any(String), size: file.length } },
      },
    });
    const stored = emulator.media(plan.mediaUploadId);
    expect(stored?.sha256).toBe(sha256(file));
    expect(stored?.bytes?.equals(file)).toBe(true);
    expect(stored?.completed).toBe(true);
    expect(stored?.parts.map((p) => p.partNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(emulator.stats).toMatchObject({ initCalls: 1, partPuts: 5, completeCalls: 1 });
  });

  it('is idempotent on complete and answers 409 listing missing parts', async () => {
    const file = data(PART * 3, 2);
    const plan = await initPlan(emulator, file.length);
    await putPart(emulator, plan, file, 2);
    const early = await complete(emulator, plan.mediaUploadId);
    expect(early.status).toBe(409);
    expect(early.json).toMatchObject({ error: expect.stringContaining('1, 3'), missingParts: [1, 3] });
    await putPart(emulator, plan, file, 1);
    await putPart(emulator, plan, file, 3);
    const first = await complete(emulator, plan.mediaUploadId);
    const second = await complete(emulator, plan.mediaUploadId);
    expect(first.status).toBe(200);
    expect(second.json).toEqual(first.json);
    expect(emulator.uploads()).toHaveLength(1);
  });

  it('accepts a re-PUT with the same bytes and rejects different bytes with 409', async () => {
    const file = data(PART * 2, 3);
    const plan = await initPlan(emulator, file.length);
    const first = await putPart(emulator, plan, file, 1);
    const again = await putPart(emulator, plan, file, 1);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    const other = Buffer.from(slice(file, plan.parts[0]!.byteRange));
    other[0] = (other[0] ?? 0) ^ 0xff;
    const conflict = await put(plan.parts[0]!.uploadUrl, other, auth(emulator));
    expect(conflict.status).toBe(409);
    await putPart(emulator, plan, file, 2);
    expect((await complete(emulator, plan.mediaUploadId)).status).toBe(200);
    expect(emulator.media(plan.mediaUploadId)?.sha256).toBe(sha256(file));
    // After finalize a retried part still answers its etag.
    expect((await putPart(emulator, plan, file, 2)).status).toBe(200);
  });

  it('rejects a Content-Length mismatch with 400 and stores nothing', async () => {
    const file = data(PART * 2, 4);
    const plan = await initPlan(emulator, file.length);
    const short = await put(plan.parts[0]!.uploadUrl, file.subarray(0, PART - 1), auth(emulator));
    expect(short.status).toBe(400);
    expect(short.json).toEqual({ error: expect.stringContaining('Content-Length') });
    const long = await put(plan.parts[1]!.uploadUrl, file.subarray(0, PART + 1), auth(emulator));
    expect(long.status).toBe(400);
    expect(emulator.media(plan.mediaUploadId)?.parts).toEqual([]);
  });

  it('rejects chunked bodies with 411', async () => {
    const file = data(PART * 2, 5);
    const plan = await initPlan(emulator, file.length);
    const answer = await put(plan.parts[0]!.uploadUrl, chunked(slice(file, plan.parts[0]!.byteRange)), auth(emulator));
    expect(answer.status).toBe(411);
    expect(emulator.media(plan.mediaUploadId)?.parts).toEqual([]);
  });

  it('404 for an unknown session, 400 for an unknown part number', async () => {
    const plan = await initPlan(emulator, PART * 2);
    const unknown = await put(`${emulator.url}/v2/access/uploads/${encodeURIComponent('upload:nope')}/parts/1`, Buffer.alloc(PART), auth(emulator));
    expect(unknown.status).toBe(404);
    const base = plan.parts[0]!.uploadUrl.replace(/\/1$/, '');
    for (const n of ['3', '0', 'x']) {
      expect((await put(`${base}/${n}`, Buffer.alloc(10), auth(emulator))).status).toBe(400);
    }
    expect((await complete(emulator, 'upload:nope')).status).toBe(404);
    expect((await post(`${emulator.url}/v2/access/uploads/complete`, { id: 'x' }, auth(emulator))).status).toBe(400);
  });

  it('drops a part whose body ends early', async () => {
    const plan = await initPlan(emulator, PART * 3);
    const url = new URL(plan.parts[1]!.uploadUrl);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `PUT ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\napiKey: ${emulator.apiKey}\r\nx-connection-id: c\r\nContent-Length: ${PART}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(PART / 2));
    await settle(() => (emulator.requests.at(-1)?.bytesReceived ?? 0) === PART / 2);
    expect(emulator.stats.heldBytes).toBe(PART / 2);
    socket.destroy();
    await settle(() => emulator.stats.activePuts === 0);
    expect(emulator.media(plan.mediaUploadId)?.parts).toEqual([]);
    expect(emulator.stats.heldBytes).toBe(0);
    expect(emulator.requests.at(-1)).toMatchObject({ status: 0, error: 'request body ended early' });
  });

  it('counts concurrent PUTs', async () => {
    const slow = await startEmulator({ partSize: PART, faults: [{ route: 'part', action: { type: 'delay', ms: 150 } }] });
    try {
      const file = data(PART * 4, 6);
      const plan = await initPlan(slow, file.length);
      const answers = await Promise.all(plan.parts.map((p) => putPart(slow, plan, file, p.partNumber)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(slow.stats.maxConcurrentPuts).toBe(4);
      await settle(() => slow.stats.activePuts === 0);
      expect((await complete(slow, plan.mediaUploadId)).status).toBe(200);
      expect(slow.media(plan.mediaUploadId)?.sha256).toBe(sha256(file));
    } finally {
      await slow.close();
    }
  });

  it('check finds finalized media by size and sha256', async () => {
    const file = data(PART + 7, 7);
    const plan = await initPlan(emulator, file.length);
    await putPart(emulator, plan, file, 1);
    await putPart(emulator, plan, file, 2);
    const media = ((await complete(emulator, plan.mediaUploadId)).json as { media: unknown }).media;
    const url = `${emulator.url}/v2/access/uploads/check`;
    expect((await post(url, { etag: sha256(file), size: file.length }, auth(emulator))).json).toEqual({ exists: true, media });
    expect((await post(url, { etag: sha256(file), size: file.length + 1 }, auth(emulator))).json).toEqual({ exists: false });
    expect((await post(url, { etag: 'x' }, auth(emulator))).status).toBe(400);
  });
});

describe('expiry', () => {
  it('answers 410 on parts, single PUTs and complete of an expired plan', async () => {
    const emulator = await startEmulator({ partSize: 10, expiresInMs: -1 });
    try {
      const plan = await initPlan(emulator, 15);
      expect(Date.parse(plan.expiresAt)).toBeLessThan(Date.now());
      const part = await put(plan.parts[0]!.uploadUrl, Buffer.alloc(10), auth(emulator));
      expect(part.status).toBe(410);
      expect(part.json).toEqual({ error: 'upload session expired' });
      expect((await complete(emulator, plan.mediaUploadId)).status).toBe(410);
      const single = await put(`${emulator.url}/v2/access/uploads/${encodeURIComponent(plan.mediaUploadId)}`, Buffer.alloc(15), auth(emulator));
      expect(single.status).toBe(410);
    } finally {
      await emulator.close();
    }
  });
});

describe('held parts cap', () => {
  it('a part that would be held beyond maxHeldParts gets 503 with Retry-After, stores nothing; the next part always passes', async () => {
    const emulator = await startEmulator({ partSize: 10, maxHeldParts: 2 });
    try {
      const file = data(50, 11);
      const plan = await initPlan(emulator, file.length);
      expect((await putPart(emulator, plan, file, 3)).status).toBe(200);
      expect((await putPart(emulator, plan, file, 4)).status).toBe(200);
      expect(emulator.stats.heldBytes).toBe(20);
      const refused = await putPart(emulator, plan, file, 5);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json).toEqual({ error: expect.stringMatching(/earlier part is missing/) });
      expect(emulator.media(plan.mediaUploadId)?.parts.map((p) => p.partNumber)).toEqual([3, 4]);
      expect(emulator.stats.heldBytes).toBe(20);
      // A re-PUT of a held part holds nothing more: accepted.
      expect((await putPart(emulator, plan, file, 3)).status).toBe(200);
      expect((await putPart(emulator, plan, file, 1)).status).toBe(200);
      expect((await putPart(emulator, plan, file, 2)).status).toBe(200);
      expect(emulator.stats.heldBytes).toBe(0);
      expect((await putPart(emulator, plan, file, 5)).status).toBe(200);
      expect((await complete(emulator, plan.mediaUploadId)).status).toBe(200);
      expect(emulator.media(plan.mediaUploadId)?.sha256).toBe(sha256(file));
    } finally {
      await emulator.close();
    }
  });

  it("is off with hashing 'none' (nothing is held), and bounded by default", async () => {
    const emulator = await startEmulator({ partSize: 10, maxHeldParts: 0, hashing: 'none' });
    try {
      const file = data(30, 12);
      const plan = await initPlan(emulator, file.length);
      for (const n of [3, 2, 1]) expect((await putPart(emulator, plan, file, n)).status).toBe(200);
    } finally {
      await emulator.close();
    }
    expect(resolveOptions({}).maxHeldParts).toBe(DEFAULT_MAX_HELD_PARTS);
    expect(Number.isSafeInteger(DEFAULT_MAX_HELD_PARTS)).toBe(true);
  });

  it('the client retries a refused part after Retry-After and the upload completes intact', async () => {
    const PART_SIZE = 16 * 1024;
    // Part 1 is held back before it is read, so the parts after it pile up behind the gap.
    const emulator = await startEmulator({ partSize: PART_SIZE, maxHeldParts: 1, faults: [{ route: 'part', partNumber: 1, nth: 1, action: { type: 'delay', ms: 300 } }] });
    try {
      const file = data(6 * PART_SIZE, 13);
      const result = await uploadToVault(file, {
        apiKey: emulator.apiKey, connectionId: 'c', baseUrl: emulator.url, filename: 'f.bin', contentType: 'video/mp4', size: file.length, concurrency: 4,
      });
      expect(emulator.media(result.mediaUploadId)?.sha256).toBe(sha256(file));
      expect(emulator.requests.filter((r) => r.route === 'part' && r.status === 503).length).toBeGreaterThan(0);
      expect(emulator.stats.maxHeldBytes).toBeLessThanOrEqual(PART_SIZE);
    } finally {
      await emulator.close();
    }
  });
});
