import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EMULATOR_API_KEY, startEmulator, type Emulator, type InitPlan } from '../../lib/emulator';
import { CONNECTION, auth, init, initPlan, post, put } from './helpers';

const EXAMPLE_SIZE = 6_825_499;
const FIVE_MIB = 5_242_880;

describe('init', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  it('defaults: key, 5 MiB parts, url without trailing slash', () => {
    expect(emulator.apiKey).toBe(DEFAULT_EMULATOR_API_KEY);
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.foreignUrl).toBeUndefined();
  });

  it('answers the guide example as a multipart plan with inclusive byteRanges', async () => {
    const plan = await initPlan(emulator, EXAMPLE_SIZE);
    const id = encodeURIComponent(plan.mediaUploadId);
    expect(plan.mediaUploadId).toMatch(/^upload:[0-9a-f-]{36}$/);
    expect(plan).toMatchObject({ uploadType: 'multipart', totalParts: 2, partSize: FIVE_MIB, completeUrl: `${emulator.url}/v2/access/uploads/complete` });
    expect(plan.parts).toEqual([
      { partNumber: 1, uploadUrl: `${emulator.url}/v2/access/uploads/${id}/parts/1`, byteRange: { start: 0, end: 5_242_879 } },
      { partNumber: 2, uploadUrl: `${emulator.url}/v2/access/uploads/${id}/parts/2`, byteRange: { start: 5_242_880, end: 6_825_498 } },
    ]);
    const expiresIn = Date.parse(plan.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(3_500_000);
    expect(expiresIn).toBeLessThanOrEqual(3_600_000);
  });

  it('answers a single plan up to partSize, pointing at the single-part-and-finalize endpoint', async () => {
    for (const size of [1, FIVE_MIB]) {
      const plan = await initPlan(emulator, size);
      expect(plan).toMatchObject({ uploadType: 'single', totalParts: 1, partSize: size });
      expect(plan.parts).toEqual([
        { partNumber: 1, uploadUrl: `${emulator.url}/v2/access/uploads/${encodeURIComponent(plan.mediaUploadId)}`, byteRange: { start: 0, end: size - 1 } },
      ]);
    }
    const plan = await initPlan(emulator, FIVE_MIB + 1);
    expect(plan.parts.map((part) => part.byteRange)).toEqual([
      { start: 0, end: FIVE_MIB - 1 },
      { start: FIVE_MIB, end: FIVE_MIB },
    ]);
  });

  it('accepts vaultUpload with userId null or a non-empty string', async () => {
    expect((await init(emulator, 10, { vaultUpload: { mode: 'message', userId: null } })).status).toBe(200);
    expect((await init(emulator, 10, { vaultUpload: { userId: '123' } })).status).toBe(200);
    expect((await init(emulator, 10, { vaultUpload: {} })).status).toBe(200);
  });

  it.each([
    ['missing filename', { size: 10, contentType: 'video/mp4' }],
    ['empty filename', { filename: '', size: 10, contentType: 'video/mp4' }],
    ['size 0', { filename: 'a', size: 0, contentType: 'video/mp4' }],
    ['negative size', { filename: 'a', size: -1, contentType: 'video/mp4' }],
    ['fractional size', { filename: 'a', size: 1.5, contentType: 'video/mp4' }],
    ['size as string', { filename: 'a', size: '10', contentType: 'video/mp4' }],
    ['unsafe size', { filename: 'a', size: 2 ** 53, contentType: 'video/mp4' }],
    ['missing contentType', { filename: 'a', size: 10 }],
    ['empty contentType', { filename: 'a', size: 10, contentType: '' }],
    ['empty userId', { filename: 'a', size: 10, contentType: 'video/mp4', vaultUpload: { userId: '' } }],
    ['unknown vault mode', { filename: 'a', size: 10, contentType: 'video/mp4', vaultUpload: { mode: 'post' } }],
    ['array body', [1, 2]],
  ])('rejects %s with 400 and a JSON error', async (_name, body) => {
    const answer = await post(`${emulator.url}/v2/access/uploads/init`, body, auth(emulator));
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: expect.stringContaining('invalid init body') });
  });

  it('names the field at fault in the 400, one issue after another', async () => {
    const answer = await post(`${emulator.url}/v2/access/uploads/init`, { filename: '', size: 10, contentType: 'video/mp4', vaultUpload: { userId: '' } }, auth(emulator));
    expect((answer.json as { error: string }).error).toMatch(/^invalid init body: filename: .+; vaultUpload\.userId: .+$/);
    const whole = await post(`${emulator.url}/v2/access/uploads/init`, [1, 2], auth(emulator));
    expect((whole.json as { error: string }).error).toMatch(/^invalid init body: \(body\): /);
  });

  it('rejects bad JSON and non-JSON content types with 400', async () => {
    const url = `${emulator.url}/v2/access/uploads/init`;
    expect((await post(url, '{"filename":', auth(emulator))).status).toBe(400);
    const text = await post(url, JSON.stringify({ filename: 'a', size: 1, contentType: 'x/y' }), { ...auth(emulator), 'content-type': 'text/plain' });
    expect(text.status).toBe(400);
    expect(text.json).toEqual({ error: expect.stringContaining('application/json') });
  });

  it('answers unknown routes and methods with 404 JSON', async () => {
    const answer = await post(`${emulator.url}/v2/access/uploads/nope`, {}, auth(emulator));
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ error: 'not found' });
    expect(emulator.requests.at(-1)?.route).toBe('unknown');
  });
});

describe('auth', () => {
  let emulator: Emulator;
  const apiKey = 'sk_live_secret_123';
  beforeAll(async () => {
    emulator = await startEmulator({ apiKey, connectionId: CONNECTION });
  });
  afterAll(() => emulator.close());
  const body = { filename: 'a', size: 1, contentType: 'image/png' };

  it('401 without or with a wrong apiKey, 403 without or with a wrong connection', async () => {
    const url = `${emulator.url}/v2/access/uploads/init`;
    const cases: [Record<string, string>, number][] = [
      [{ 'x-connection-id': CONNECTION }, 401],
      [{ apiKey: 'wrong', 'x-connection-id': CONNECTION }, 401],
      [{ apiKey: `${apiKey}x`, 'x-connection-id': CONNECTION }, 401],
      [{ apiKey }, 403],
      [{ apiKey, 'x-connection-id': '' }, 403],
      [{ apiKey, 'x-connection-id': 'other' }, 403],
    ];
    for (const [headers, status] of cases) {
      const answer = await post(url, body, headers);
      expect(answer.status).toBe(status);
      expect(answer.json).toEqual({ error: expect.any(String) });
      expect(answer.text).not.toContain(apiKey);
    }
    expect((await post(url, body, { apiKey, 'x-connection-id': CONNECTION })).status).toBe(200);
  });

  it('without a connectionId option, x-connection-id is still required: missing or blank is 403, any other value passes', async () => {
    const open = await startEmulator({ apiKey });
    try {
      const url = `${open.url}/v2/access/uploads/init`;
      const refused: Record<string, string>[] = [{ apiKey }, { apiKey, 'x-connection-id': '' }, { apiKey, 'x-connection-id': '   ' }];
      for (const headers of refused) {
        const answer = await post(url, body, headers);
        expect(answer.status).toBe(403);
        expect(answer.json).toEqual({ error: 'missing x-connection-id header' });
      }
      expect((await post(url, body, { apiKey, 'x-connection-id': 'anything' })).status).toBe(200);
      // Byte PUTs on the API origin are held to the same rule.
      const plan = (await post(url, { ...body, size: 3 }, { apiKey, 'x-connection-id': 'anything' })).json as InitPlan;
      expect((await put(plan.parts[0]!.uploadUrl, Buffer.from('abc'), { apiKey })).status).toBe(403);
      expect(open.media(plan.mediaUploadId)?.completed).toBe(false);
    } finally {
      await open.close();
    }
  });

  it('auth applies to parts, single PUTs and complete too', async () => {
    const plan = (await post(`${emulator.url}/v2/access/uploads/init`, { ...body, size: 3 }, { apiKey, 'x-connection-id': CONNECTION })).json as InitPlan;
    const { request } = await import('undici');
    const part = await request(plan.parts[0]?.uploadUrl ?? '', { method: 'PUT', body: Buffer.from('abc') });
    expect(part.statusCode).toBe(401);
    await part.body.text();
    const done = await post(`${emulator.url}/v2/access/uploads/complete`, { mediaUploadId: plan.mediaUploadId }, { apiKey });
    expect(done.status).toBe(403);
  });

  it('records requests with the key redacted', () => {
    const recorded = JSON.stringify(emulator.requests);
    expect(recorded).not.toContain(apiKey);
    const withKey = emulator.requests.find((r) => r.headers['x-connection-id'] === CONNECTION && r.status === 200);
    expect(withKey?.headers['apikey']).toBe('[REDACTED]');
    expect(withKey).toMatchObject({ route: 'init', method: 'POST', path: '/v2/access/uploads/init', status: 200, server: 'api' });
    expect(withKey?.endedAt).toBeGreaterThanOrEqual(withKey?.startedAt ?? Infinity);
  });
});

describe('plan modes', () => {
  it("mode 'single' gives one part whatever the size; 'multipart' splits even small files", async () => {
    const single = await startEmulator({ mode: 'single', partSize: 10 });
    const multi = await startEmulator({ mode: 'multipart', partSize: 10 });
    try {
      const a = await initPlan(single, 25);
      expect(a).toMatchObject({ uploadType: 'single', totalParts: 1, partSize: 25 });
      const b = await initPlan(multi, 25);
      expect(b).toMatchObject({ uploadType: 'multipart', totalParts: 3, partSize: 10 });
      expect(b.parts.map((p) => p.byteRange)).toEqual([
        { start: 0, end: 9 },
        { start: 10, end: 19 },
        { start: 20, end: 24 },
      ]);
      const c = await initPlan(multi, 4);
      expect(c).toMatchObject({ uploadType: 'multipart', totalParts: 1 });
    } finally {
      await Promise.all([single.close(), multi.close()]);
    }
  });

  it("mode 'planless' answers only the mediaUploadId", async () => {
    const emulator = await startEmulator({ mode: 'planless' });
    try {
      const answer = await init(emulator, 123);
      expect(Object.keys(answer.json as object)).toEqual(['mediaUploadId']);
    } finally {
      await emulator.close();
    }
  });

  it("accepts the docs' spellings 'plan-less' and 'single-finalize', and refuses unknown modes", async () => {
    const planless = await startEmulator({ mode: 'plan-less' });
    const single = await startEmulator({ mode: 'single-finalize', partSize: 10 });
    try {
      expect(Object.keys((await init(planless, 5)).json as object)).toEqual(['mediaUploadId']);
      expect(await initPlan(single, 25)).toMatchObject({ uploadType: 'single', totalParts: 1 });
    } finally {
      await Promise.all([planless.close(), single.close()]);
    }
    await expect(startEmulator({ mode: 'resumable' as never })).rejects.toThrow(/unknown mode/);
  });

  it('planTransform changes the answer, not the session', async () => {
    const emulator = await startEmulator({
      partSize: 10,
      planTransform: (plan, ctx) => ({ ...plan, parts: plan.parts.slice(1), note: ctx.size }),
    });
    try {
      const answer = (await init(emulator, 25)).json as InitPlan & { note: number };
      expect(answer.parts).toHaveLength(2);
      expect(answer.note).toBe(25);
      expect(emulator.media(answer.mediaUploadId)).toMatchObject({ size: 25, uploadType: 'multipart', completed: false, parts: [] });
    } finally {
      await emulator.close();
    }
  });

  it('rejects bad options at start', async () => {
    await expect(startEmulator({ partSize: 0 })).rejects.toThrow(/partSize/);
    await expect(startEmulator({ faults: [{ nth: 0, action: { type: 'hang' } }] })).rejects.toThrow(/nth/);
    await expect(startEmulator({ randomFaults: { seed: 1, rate: 2 } })).rejects.toThrow(/rate/);
  });
});
