import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions, type RandomFaults } from '../../lib/emulator';
import { auth, complete, data, init, initPlan, put, putPart, settle, slice } from './helpers';

const PART = 64 * 1024;
let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: EmulatorOptions): Promise<Emulator> {
  emulator = await startEmulator({ partSize: PART, ...options });
  return emulator;
}

describe('fault actions', () => {
  it('status: answers instead (Retry-After, custom body), drains the body, stores nothing', async () => {
    const emu = await start({
      faults: [
        { route: 'part', nth: 1, action: { type: 'status', status: 503, retryAfter: 2 } },
        { route: 'part', nth: 2, action: { type: 'status', status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' } },
      ],
    });
    const file = data(PART * 2, 31);
    const plan = await initPlan(emu, file.length);
    const first = await putPart(emu, plan, file, 1);
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('2');
    expect(first.json).toEqual({ error: 'injected fault: status 503' });
    const second = await putPart(emu, plan, file, 1);
    expect(second.status).toBe(502);
    expect(second.headers['content-type']).toBe('text/html');
    expect(second.text).toBe('<html>bad gateway</html>');
    expect(emu.media(plan.mediaUploadId)?.parts).toEqual([]);
    expect(emu.requests.filter((r) => r.route === 'part').map((r) => [r.status, r.fault, r.bytesReceived])).toEqual([
      [503, 'status:503', PART],
      [502, 'status:502', PART],
    ]);
    expect((await putPart(emu, plan, file, 1)).status).toBe(200);
    expect(emu.stats.faultsInjected).toBe(2);
  });

  it('reset: destroys the socket after afterBytes, stores nothing', async () => {
    const emu = await start({
      faults: [
        { route: 'part', nth: 1, action: { type: 'reset' } },
        { route: 'part', nth: 2, action: { type: 'reset', afterBytes: 20_000 } },
      ],
    });
    const file = data(PART * 2, 32);
    const plan = await initPlan(emu, file.length);
    await expect(putPart(emu, plan, file, 1)).rejects.toThrow();
    await expect(putPart(emu, plan, file, 1)).rejects.toThrow();
    const parts = emu.requests.filter((r) => r.route === 'part');
    expect(parts.map((r) => [r.status, r.fault])).toEqual([
      [0, 'reset@0'],
      [0, 'reset@20000'],
    ]);
    expect(parts[0]?.bytesReceived).toBe(0);
    expect(parts[1]?.bytesReceived).toBeGreaterThanOrEqual(20_000);
    expect(parts[1]?.bytesReceived).toBeLessThan(PART);
    expect(emu.media(plan.mediaUploadId)?.parts).toEqual([]);
    expect((await putPart(emu, plan, file, 1)).status).toBe(200);
  });

  it('delay and latencyMs: answer later, normally', async () => {
    const emu = await start({ latencyMs: 30, faults: [{ route: 'init', nth: 1, action: { type: 'delay', ms: 120 } }] });
    let at = Date.now();
    expect((await init(emu, 10)).status).toBe(200);
    expect(Date.now() - at).toBeGreaterThanOrEqual(145);
    at = Date.now();
    expect((await init(emu, 10)).status).toBe(200);
    expect(Date.now() - at).toBeGreaterThanOrEqual(29);
    expect(emu.requests.map((r) => r.fault)).toEqual(['delay:120ms', undefined]);
  });

  it('slowRead: throttles the body, then stores the part', async () => {
    const emu = await start({ faults: [{ route: 'part', action: { type: 'slowRead', bytesPerSecond: 256 * 1024 } }] });
    const file = data(PART * 2, 33);
    const plan = await initPlan(emu, file.length);
    const at = Date.now();
    const answer = await putPart(emu, plan, file, 1);
    expect(answer.status).toBe(200);
    // 64 KiB at 256 KiB/s: about 250 ms (the first chunk is free).
    expect(Date.now() - at).toBeGreaterThanOrEqual(150);
    expect(emu.media(plan.mediaUploadId)?.parts).toHaveLength(1);
  });

  it('hang: reads the body, never answers, stores nothing; close() does not wait for it', async () => {
    const emu = await start({ faults: [{ route: 'part', nth: 1, action: { type: 'hang' } }] });
    const file = data(PART * 2, 34);
    const plan = await initPlan(emu, file.length);
    const part = plan.parts[0]!;
    // Aborted once the emulator has the whole body (not after a fixed time a busy machine may need).
    const hung = new AbortController();
    const first = request(part.uploadUrl, { method: 'PUT', headers: auth(emu), body: slice(file, part.byteRange), signal: hung.signal });
    let answered = false;
    void first.then(() => (answered = true), () => undefined);
    await settle(() => emu.requests.at(-1)?.bytesReceived === PART);
    // A part it had answered would be answered by now.
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    hung.abort();
    await expect(first).rejects.toThrow(/aborted/i);
    expect(emu.requests.at(-1)).toMatchObject({ fault: 'hang', status: 0, bytesReceived: PART });
    expect(emu.media(plan.mediaUploadId)?.parts).toEqual([]);

    emu.setFaults([{ route: 'part', action: { type: 'hang' } }]);
    const pending = request(part.uploadUrl, { method: 'PUT', headers: auth(emu), body: slice(file, part.byteRange) });
    await settle(() => emu.stats.activePuts === 1 && emu.requests.at(-1)?.bytesReceived === PART);
    const at = Date.now();
    await emu.close();
    expect(Date.now() - at).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
  });

  it('stallBody: the part is stored, the answer never completes', async () => {
    const emu = await start({ faults: [{ route: 'part', nth: 1, action: { type: 'stallBody' } }] });
    const file = data(PART * 2, 35);
    const plan = await initPlan(emu, file.length);
    const part = plan.parts[0]!;
    const stalled = new AbortController();
    const response = await request(part.uploadUrl, { method: 'PUT', headers: auth(emu), body: slice(file, part.byteRange), signal: stalled.signal });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toMatch(/^\d+$/);
    // The body never completes: reading it ends only when the client gives up.
    const text = response.body.text();
    let settled = false;
    void text.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    stalled.abort();
    await expect(text).rejects.toThrow(/aborted/i);
    expect(emu.media(plan.mediaUploadId)?.parts.map((p) => p.partNumber)).toEqual([1]);
    // The client's retry gets the normal answer.
    expect((await putPart(emu, plan, file, 1)).json).toMatchObject({ partNumber: 1 });
  });

  it('body: the part is stored, the answer is the raw body', async () => {
    const emu = await start({
      faults: [
        { route: 'part', partNumber: 1, action: { type: 'body', body: '<html>oops</html>', contentType: 'text/html' } },
        { route: 'complete', action: { type: 'body', status: 200, body: '{"mediaUploadId":' } },
      ],
    });
    const file = data(PART * 2, 36);
    const plan = await initPlan(emu, file.length);
    await putPart(emu, plan, file, 2);
    const answer = await putPart(emu, plan, file, 1);
    expect(answer).toMatchObject({ status: 200, text: '<html>oops</html>' });
    expect(answer.headers.etag).toBeUndefined();
    expect(emu.media(plan.mediaUploadId)?.parts).toHaveLength(2);
    const done = await complete(emu, plan.mediaUploadId);
    expect(done.text).toBe('{"mediaUploadId":');
    expect(emu.media(plan.mediaUploadId)?.completed).toBe(true);
  });

  it('mutate: the normal answer, rewritten', async () => {
    const emu = await start({
      faults: [
        { route: 'part', action: { type: 'mutate', fn: (a) => ({ ...a, mediaUploadId: 'upload:someone-else' }) } },
        { route: 'init', action: { type: 'mutate', fn: (a) => ({ ...a, totalParts: 99 }) } },
      ],
    });
    const file = data(PART * 2, 37);
    const plan = await initPlan(emu, file.length);
    expect(plan.totalParts).toBe(99);
    const answer = await putPart(emu, plan, file, 1);
    expect(answer.json).toMatchObject({ mediaUploadId: 'upload:someone-else', partNumber: 1 });
    expect(answer.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(emu.media(plan.mediaUploadId)?.parts).toHaveLength(1);
  });
});

describe('rule selection', () => {
  it('nth counts matching requests; partNumber narrows; without nth or times a rule fires every time', async () => {
    const emu = await start({
      faults: [
        { route: 'part', partNumber: 2, nth: 2, action: { type: 'status', status: 500 } },
        { route: 'part', nth: [1, 3], action: { type: 'status', status: 503 } },
        { route: 'check', action: { type: 'status', status: 429 } },
      ],
    });
    const file = data(PART * 3, 38);
    const plan = await initPlan(emu, file.length);
    const statuses: number[] = [];
    for (const n of [1, 2, 2, 2, 3]) statuses.push((await putPart(emu, plan, file, n)).status);
    // Part requests: #1 (p1) 503 by the generic rule; #2 (p2, first p2) ok; #3 (p2, second p2) 500 by
    // the part-2 rule, which is first in order (the generic rule counts it as its #3 but loses);
    // #4, #5 ok.
    expect(statuses).toEqual([503, 200, 500, 200, 200]);
    for (let i = 0; i < 3; i += 1) {
      const answer = await request(`${emu.url}/v2/access/uploads/check`, { method: 'POST', headers: auth(emu), body: '{}' });
      expect(answer.statusCode).toBe(429);
      await answer.body.text();
    }
    expect(emu.stats.faultsInjected).toBe(5);
  });

  it('times caps how often a rule fires; setFaults replaces rules and restarts counters', async () => {
    const emu = await start({ faults: [{ route: 'init', times: 2, action: { type: 'status', status: 500 } }] });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await init(emu, 10)).status);
    expect(statuses).toEqual([500, 500, 200, 200]);
    emu.setFaults([{ route: 'init', nth: 2, action: { type: 'status', status: 418 } }]);
    const after: number[] = [];
    for (let i = 0; i < 3; i += 1) after.push((await init(emu, 10)).status);
    expect(after).toEqual([200, 418, 200]);
    emu.reset();
    expect(emu.requests).toEqual([]);
    expect(emu.stats.faultsInjected).toBe(0);
    expect(emu.uploads()).toEqual([]);
    expect([(await init(emu, 10)).status, (await init(emu, 10)).status]).toEqual([200, 418]);
  });

  it('a rule on any route matches every known route', async () => {
    const emu = await start({ faults: [{ nth: 2, action: { type: 'status', status: 500 } }] });
    const plan = await initPlan(emu, 10);
    expect((await put(plan.parts[0]!.uploadUrl, Buffer.alloc(10), auth(emu))).status).toBe(500);
  });
});

describe('random faults', () => {
  async function run(randomFaults: RandomFaults): Promise<(string | undefined)[]> {
    const emu = await startEmulator({ partSize: 1000, randomFaults });
    try {
      const file = data(10_000, 39);
      const plan = await initPlan(emu, file.length).catch(() => undefined);
      if (plan) {
        for (const part of plan.parts) await put(part.uploadUrl, slice(file, part.byteRange), auth(emu)).catch(() => undefined);
      }
      for (let i = 0; i < 10; i += 1) await init(emu, 10).catch(() => undefined);
      return emu.requests.map((r) => r.fault);
    } finally {
      await emu.close();
    }
  }

  it('the same seed replays the same faults; another seed does not', async () => {
    const options: RandomFaults = { seed: 42, rate: 0.5, kinds: ['500', '503', '429', 'reset', 'delay', 'slowRead'], maxDelayMs: 20, retryAfterSeconds: 0 };
    const a = await run(options);
    const b = await run(options);
    const c = await run({ ...options, seed: 7 });
    expect(a).toEqual(b);
    expect(a.filter(Boolean).length).toBeGreaterThan(3);
    expect(a.every((label) => label === undefined || label.startsWith('random:'))).toBe(true);
    expect(c).not.toEqual(a);
  });

  it('rate 0 injects nothing; routes limit where faults land', async () => {
    expect((await run({ seed: 1, rate: 0 })).filter(Boolean)).toEqual([]);
    const emu = await startEmulator({ randomFaults: { seed: 3, rate: 1, routes: ['complete'], kinds: ['502'] } });
    try {
      const plan = await initPlan(emu, 10);
      expect((await put(plan.parts[0]!.uploadUrl, Buffer.alloc(10), auth(emu))).status).toBe(200);
      expect((await complete(emu, plan.mediaUploadId)).status).toBe(502);
      expect(emu.requests.map((r) => r.fault)).toEqual([undefined, undefined, 'random:status:502']);
    } finally {
      await emu.close();
    }
  });
});
