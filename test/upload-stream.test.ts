import { getEventListeners, once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { Agent, type Dispatcher } from 'undici';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../lib/emulator';
import {
  InvalidOptionsError,
  InvalidResponseError,
  OFAuthApiError,
  OFAuthUploadError,
  OFAuthUploadStream,
  PlanError,
  SizeMismatchError,
  UploadExpiredError,
  uploadToVault,
  type OFAuthUploadOptions,
  type UploadProgress,
} from '../lib/index';
import { spareBuffers } from '../lib/parts/spare-buffers';
import { KiB, MiB, NEAR_LINK_TIMING, bytes, failingSource, fastRetry, generatedSource, liveMemorySampler, sha256, source, timed, until, watchingBuffers, writeRecycling } from './helpers';

const API_KEY = 'sk_live_SECRET_never_shown_42';
let emu: Emulator | undefined;

async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  emu = await startEmulator({ apiKey: API_KEY, partSize: 64 * KiB, ...options });
  return emu;
}

afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

function options(e: Emulator, size: number, extra: Partial<OFAuthUploadOptions> = {}): OFAuthUploadOptions {
  return {
    apiKey: API_KEY,
    connectionId: 'conn_test',
    baseUrl: e.url,
    filename: 'clip.mp4',
    contentType: 'video/mp4',
    size,
    ...fastRetry,
    ...extra,
  };
}

const partPuts = (e: Emulator) => e.requests.filter((r) => r.route === 'part' || r.route === 'single');
const completes = (e: Emulator) => e.requests.filter((r) => r.route === 'complete');

describe('round trips', () => {
  const P = 64 * KiB;
  const sizes = [1, P - 1, P, P + 1, 3 * P, 3 * P + 7];
  const chunkings: Array<[string, number]> = [['1000-byte', 1000], ['odd 64KiB+3', P + 3], ['whole', 4 * P]];

  for (const size of sizes) {
    for (const [label, chunk] of chunkings) {
      it(`${size} bytes in ${label} chunks arrive intact`, async () => {
        const e = await emulator({ mode: 'multipart' });
        const data = bytes(size, size);
        const upload = new OFAuthUploadStream(options(e, size));
        await pipeline(source(data, chunk), upload);
        const result = upload.result!;
        expect(result.mediaUploadId).toMatch(/^upload:/);
        expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
        expect(result.parts.map((p) => p.partNumber)).toEqual(Array.from({ length: Math.ceil(size / P) }, (_, i) => i + 1));
        expect(result.parts.every((p) => typeof p.etag === 'string')).toBe(true);
        expect(result.media?.id).toBeTruthy();
        expect(completes(e)).toHaveLength(1);
      });
    }
  }

  it('1-byte chunks across part boundaries', async () => {
    const e = await emulator({ partSize: 1000 });
    const data = bytes(2501, 9);
    const upload = new OFAuthUploadStream(options(e, data.length));
    await pipeline(source(data, 1), upload);
    expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
  });

  it('single mode: the part answer finalizes, complete is not called', async () => {
    const e = await emulator({ mode: 'single' });
    const data = bytes(200 * KiB, 3);
    const sessions: unknown[] = [];
    const upload = new OFAuthUploadStream(options(e, data.length));
    upload.on('session', (s) => sessions.push(s));
    await pipeline(source(data, 16 * KiB), upload);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ uploadType: 'single', totalParts: 1, partSize: data.length });
    expect(Object.keys(sessions[0] as object).sort()).toEqual(['completeUrl', 'expiresAt', 'mediaUploadId', 'partSize', 'parts', 'totalParts', 'uploadType']);
    expect(completes(e)).toHaveLength(0);
    expect(upload.result?.media?.id).toBeTruthy();
    expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
  });

  it('plan-less mode: one streamed PUT with Content-Length, no complete, nothing buffered', async () => {
    // No hashing on the server side of this process: only the client's memory is measured here
    // (the stored bytes of streamed uploads are checked in the recycling-source test below).
    const e = await emulator({ mode: 'planless', hashing: 'none' });
    const size = 64 * MiB + 5;
    const src = generatedSource(size, 4);
    const upload = new OFAuthUploadStream(options(e, size, { planlessRetryBuffer: 0 }));
    const parts: unknown[] = [];
    upload.on('part', (p) => parts.push(p));
    const sampler = liveMemorySampler();
    await pipeline(src, upload);
    const { peakExternal } = sampler.stop();
    expect(upload.session).toEqual({ mediaUploadId: upload.result!.mediaUploadId });
    expect(partPuts(e)).toHaveLength(1);
    expect(partPuts(e)[0]!.headers['content-length']).toBe(String(size));
    expect(completes(e)).toHaveLength(0);
    expect(parts).toEqual([{ partNumber: 1 }]);
    expect(e.media(upload.result!.mediaUploadId)).toMatchObject({ completed: true, size });
    // Streamed, not held: holding the file would show 64 MiB. Measured alone the client holds
    // well under 1 MiB; the margin absorbs buffers whose release lags behind gc() under load.
    expect(peakExternal).toBeLessThan(16 * MiB);
  });

  it('a source that recycles its chunk buffers after each callback still arrives intact, planned or streamed', async () => {
    for (const planlessRetryBuffer of [undefined, 0]) {
      const e = await emulator({ mode: planlessRetryBuffer === 0 ? 'planless' : 'multipart', partSize: 256 * KiB });
      const size = 8 * MiB + 3;
      const upload = new OFAuthUploadStream(options(e, size, { planlessRetryBuffer }));
      // Three 16 KiB buffers, each refilled as soon as the stream's callback for it has run.
      const written = await writeRecycling(upload, size, 5, 16 * KiB, 3);
      expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(written);
      await e.close();
    }
  });

  it('plan-less streaming cannot be retried once bytes were taken: it fails typed', async () => {
    const e = await emulator({ mode: 'planless', faults: [{ route: 'single', nth: 1, action: { type: 'status', status: 503 } }] });
    const data = bytes(200 * KiB, 4);
    const { error } = await timed(uploadToVault(source(data, 16 * KiB), options(e, data.length, { planlessRetryBuffer: 0 })));
    expect(error).toBeInstanceOf(OFAuthApiError);
    expect((error as OFAuthApiError).status).toBe(503);
  });

  it('a small plan-less upload streams from the first chunk, and a failed attempt is replayed from its copy', async () => {
    const e = await emulator({
      mode: 'planless',
      faults: [
        { route: 'single', nth: 1, action: { type: 'reset', afterBytes: 1_000_000 } },
        { route: 'single', nth: 2, action: { type: 'status', status: 503 } },
      ],
    });
    const data = bytes(3 * MiB + 5, 4);
    const slow = Readable.from(
      (async function* () {
        for (let o = 0; o < data.length; o += 256 * KiB) {
          yield data.subarray(o, o + 256 * KiB);
          await new Promise((r) => setTimeout(r, 10));
        }
      })(),
      { objectMode: false },
    );
    let sourceEndedAt = 0;
    slow.on('end', () => (sourceEndedAt = Date.now()));
    const upload = new OFAuthUploadStream(options(e, data.length));
    await pipeline(slow, upload);
    const puts = partPuts(e);
    expect(puts).toHaveLength(3);
    // Streamed: the first PUT was under way long before the source had ended.
    expect(puts[0]!.startedAt).toBeLessThan(sourceEndedAt - 50);
    expect(completes(e)).toHaveLength(0);
    expect(upload.result!.parts).toEqual([{ partNumber: 1 }]);
    expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
  });

  it('uploadToVault takes a Buffer and returns the result', async () => {
    const e = await emulator();
    const data = bytes(100 * KiB, 5);
    const result = await uploadToVault(data, options(e, data.length));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
  });

  it('sends the init body the API expects, with vaultUpload', async () => {
    const e = await emulator();
    const data = bytes(10, 1);
    await uploadToVault(data, options(e, 10, { vaultUpload: { mode: 'message', userId: 'u_1' } }));
    const init = e.requests.find((r) => r.route === 'init')!;
    expect(init.status).toBe(200);
    expect(init.headers['x-connection-id']).toBe('conn_test');
    expect(init.headers['apikey']).toBe('[REDACTED]');
    expect(init.body).toEqual({ filename: 'clip.mp4', size: 10, contentType: 'video/mp4', vaultUpload: { mode: 'message', userId: 'u_1' } });
  });
});

describe('concurrency and memory', () => {
  it('never has more than `concurrency` parts in flight, and uses them', NEAR_LINK_TIMING, async () => {
    // The server reads nothing for 30 ms: a 32 KiB body fits the socket's buffers, so each part
    // is sent at once; its slot still stays taken until its answer.
    const e = await emulator({ partSize: 32 * KiB, faults: [{ route: 'part', action: { type: 'delay', ms: 30 } }] });
    const data = bytes(20 * 32 * KiB, 6);
    await uploadToVault(source(data, 16 * KiB), options(e, data.length, { concurrency: 3 }));
    expect(e.stats.maxConcurrentPuts).toBe(3);
    expect(e.media(e.requests.find((r) => r.route === 'complete')!.mediaUploadId!)?.sha256).toBe(sha256(data));
  });

  it('a near server that reads slowly is not taken for a far link: its answers come late, but init came at once', NEAR_LINK_TIMING, async () => {
    // 1 MiB/s: a part's last bytes sit in the socket buffers for a while after the socket took them.
    const e = await emulator({ partSize: 256 * KiB, faults: [{ route: 'part', action: { type: 'slowRead', bytesPerSecond: 1024 * KiB } }] });
    const data = bytes(12 * 256 * KiB, 8);
    await uploadToVault(source(data, 64 * KiB), options(e, data.length, { concurrency: 2 }));
    expect(e.stats.maxConcurrentPuts).toBe(2);
    expect(e.media(e.requests.find((r) => r.route === 'complete')!.mediaUploadId!)?.sha256).toBe(sha256(data));
  });

  it('on a far link (answers a long round trip after the body) one more part starts while one waits: concurrency + 1, never more', async () => {
    // Every answer, init's too, comes 80 ms late: past LONG_ANSWER_WAIT_MS, so once a few answers
    // have shown it, a part waiting only for its answer frees its sending slot.
    const e = await emulator({ partSize: 32 * KiB, latencyMs: 80 });
    const data = bytes(24 * 32 * KiB, 7);
    await uploadToVault(source(data, 16 * KiB), options(e, data.length, { concurrency: 3 }));
    expect(e.stats.maxConcurrentPuts).toBe(4);
    expect(e.media(e.requests.find((r) => r.route === 'complete')!.mediaUploadId!)?.sha256).toBe(sha256(data));
  });

  it('bytes taken but not acknowledged stay within (concurrency + 1) × partSize + highWaterMark under a slow server', async () => {
    const partSize = 256 * KiB;
    const concurrency = 2;
    const chunk = 16 * KiB;
    const e = await emulator({ partSize, faults: [{ route: 'part', action: { type: 'slowRead', bytesPerSecond: 8 * MiB } }] });
    const data = bytes(16 * partSize, 7);
    const src = source(data, chunk);
    const upload = new OFAuthUploadStream(options(e, data.length, { concurrency }));
    let acknowledged = 0;
    let worst = 0;
    upload.on('part', () => {
      acknowledged += partSize;
    });
    const timer = setInterval(() => {
      worst = Math.max(worst, src.pulled - acknowledged);
    }, 2);
    // Sample on every pull too: the moment the source hands out bytes is the moment that matters.
    src.on('data', () => {
      worst = Math.max(worst, src.pulled - acknowledged);
    });
    await pipeline(src, upload);
    clearInterval(timer);
    const bound = (concurrency + 1) * partSize + upload.writableHighWaterMark + chunk /* the readable's own buffer */;
    expect(worst).toBeGreaterThan(concurrency * partSize); // the pipe really was full
    expect(worst).toBeLessThanOrEqual(bound);
    expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
  });
});

describe('back-to-back uploads', () => {
  it("the next upload fills the last one's part buffers instead of allocating, and sends only its own bytes", async () => {
    const P = 64 * KiB;
    const e = await emulator({ partSize: P });
    await watchingBuffers(P, async (watch) => {
      const first = bytes(6 * P, 21);
      await uploadToVault(source(first, 16 * KiB), options(e, first.length, { concurrency: 2 }));
      // Held here until the second upload is over, so no collection can take the spares meanwhile.
      const firstBuffers = watch.allocated();
      // Three at c=2 (one filling while two are sent), or two when an answer came before the third was needed.
      expect(firstBuffers.length === 2 || firstBuffers.length === 3).toBe(true);
      watch.clear();
      // Shorter, other bytes, a short last part: a buffer's old tail must never go out.
      const second = bytes(2 * P + 100, 22);
      const upload = new OFAuthUploadStream(options(e, second.length, { concurrency: 2 }));
      await pipeline(source(second, 16 * KiB), upload);
      expect(watch.allocated().length).toBeLessThanOrEqual(3 - firstBuffers.length);
      expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(second));
      expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(2);
    });
  });

  it("a one-part upload's buffer, sized to that one file, is not kept for another", async () => {
    const e = await emulator({ partSize: 64 * KiB });
    const size = 40 * KiB + 17;
    await watchingBuffers(size, async (watch) => {
      const data = bytes(size, 27);
      await uploadToVault(source(data, 16 * KiB), options(e, size));
      // Held here (and used after the count), so a spare of it, if one were kept, could not be collected first.
      const used = watch.allocated();
      expect(spareBuffers.count(size)).toBe(0);
      expect(used).toHaveLength(1);
    });
  });

  it('an upload destroyed midway leaves its free buffers, never one a part still held', async () => {
    const P = 64 * KiB;
    const e = await emulator({ partSize: P });
    await watchingBuffers(P, async (watch) => {
      const upload = new OFAuthUploadStream(options(e, 4 * P, { concurrency: 2 }));
      const acknowledged: number[] = [];
      upload.on('part', (receipt) => acknowledged.push(receipt.partNumber));
      // Two parts and half of a third: parts 1 and 2 are acknowledged, part 3's buffer is half full.
      upload.write(bytes(2 * P + P / 2, 25));
      await until(() => acknowledged.length === 2);
      const allocated = watch.allocated();
      // Part 3 takes a third buffer, or part 1's when its answer came first.
      expect(allocated.length === 2 || allocated.length === 3).toBe(true);
      upload.destroy();
      await once(upload, 'close');
      expect(spareBuffers.count(P)).toBe(allocated.length - 1);
      const handedOn = allocated.map(() => spareBuffers.take(P)).filter((b) => b !== undefined);
      // The half-filled part's buffer stays with the dead upload.
      expect(handedOn.every((b) => allocated.includes(b))).toBe(true);
      expect(allocated.filter((b) => !handedOn.includes(b))).toHaveLength(1);
      expect(completes(e)).toHaveLength(0);
      // Handed back for the next upload, which arrives intact.
      spareBuffers.keep(handedOn);
      const next = bytes(3 * P + 1, 26);
      const again = new OFAuthUploadStream(options(e, next.length, { concurrency: 2 }));
      await pipeline(source(next, 16 * KiB), again);
      expect(e.media(again.result!.mediaUploadId)?.sha256).toBe(sha256(next));
    });
  });
});

describe('retries', () => {
  it('recovers from 503 at init, 500 on a part, a socket reset mid-body and a 429 with Retry-After', async () => {
    const e = await emulator({
      faults: [
        { route: 'init', nth: 1, action: { type: 'status', status: 503 } },
        { route: 'part', partNumber: 1, nth: 1, action: { type: 'status', status: 500 } },
        { route: 'part', partNumber: 2, nth: 1, action: { type: 'reset', afterBytes: 10_000 } },
        { route: 'part', partNumber: 3, nth: 1, action: { type: 'status', status: 429, retryAfter: 1 } },
        { route: 'complete', nth: 1, action: { type: 'status', status: 503 } },
      ],
    });
    const data = bytes(5 * 64 * KiB, 8);
    const result = await uploadToVault(source(data, 64 * KiB), options(e, data.length));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(e.stats.faultsInjected).toBe(5);
  });

  it('a 429 slows the whole upload: no request starts before Retry-After has passed', async () => {
    const e = await emulator({
      partSize: 16 * KiB,
      faults: [{ route: 'part', partNumber: 1, nth: 1, action: { type: 'status', status: 429, retryAfter: 1 } }],
    });
    const data = bytes(8 * 16 * KiB, 10);
    await uploadToVault(source(data, 16 * KiB), options(e, data.length, { concurrency: 1 }));
    const limited = e.requests.find((r) => r.status === 429)!;
    const later = e.requests.filter((r) => r.id > limited.id);
    expect(later.length).toBeGreaterThan(0);
    for (const r of later) expect(r.startedAt - limited.endedAt!).toBeGreaterThanOrEqual(900);
  });

  it('a 429 on one part holds the other parts too (concurrency 3): no PUT starts until Retry-After has passed', NEAR_LINK_TIMING, async () => {
    const e = await emulator({
      partSize: 16 * KiB,
      faults: [
        { route: 'part', partNumber: 1, nth: 1, action: { type: 'status', status: 429, retryAfter: 1 } },
        // Every other PUT takes a while, so without the shared gate new ones would start in the window.
        { route: 'part', action: { type: 'delay', ms: 100 } },
      ],
    });
    const data = bytes(12 * 16 * KiB, 10);
    const result = await uploadToVault(source(data, 16 * KiB), options(e, data.length, { concurrency: 3 }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    const limited = e.requests.find((r) => r.status === 429)!;
    // The client reads the 429 a moment after the emulator sent it; well inside the 1 s it asked for:
    const from = limited.endedAt! + 50;
    const to = limited.endedAt! + 900;
    expect(partPuts(e).filter((r) => r.startedAt > from && r.startedAt < to)).toEqual([]);
    // Never more than `concurrency` parts at once (the pacer then paces what follows the 429).
    expect(e.stats.maxConcurrentPuts).toBeLessThanOrEqual(3);
  });

  it('retryAfterMax caps what a server may ask: Retry-After 100 s, retryAfterMax 50 ms, done at once', async () => {
    const e = await emulator({ faults: [{ route: 'part', partNumber: 1, nth: 1, action: { type: 'status', status: 429, retryAfter: 100 } }] });
    const data = bytes(2 * 64 * KiB, 9);
    // Without the cap this would wait 100 s; the signal turns that into a quick failure.
    const { error, ms } = await timed(uploadToVault(source(data, 64 * KiB), options(e, data.length, { retryAfterMax: 50, signal: AbortSignal.timeout(5_000) })));
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(5_000);
    expect(e.requests.filter((r) => r.route === 'part' && r.partNumber === 1).map((r) => r.status)).toEqual([429, 200]);
  });

  it('a 4xx other than 408/429 fails at once with status, method and path', async () => {
    const e = await emulator({ faults: [{ route: 'part', partNumber: 2, action: { type: 'status', status: 403, body: '{"error":"forbidden"}' } }] });
    const data = bytes(3 * 64 * KiB, 11);
    const { error } = await timed(uploadToVault(source(data, 64 * KiB), options(e, data.length)));
    expect(error).toBeInstanceOf(OFAuthApiError);
    const apiError = error as OFAuthApiError;
    expect(apiError.code).toBe('ERR_OFAUTH_API');
    expect(apiError.status).toBe(403);
    expect(apiError.method).toBe('PUT');
    expect(apiError.path).toMatch(/\/parts\/2$/);
    expect(apiError.bodyExcerpt).toContain('forbidden');
    expect(apiError.attempts).toBe(1);
    expect(e.requests.filter((r) => r.route === 'part' && r.partNumber === 2)).toHaveLength(1);
    expect(completes(e)).toHaveLength(0);
  });

  it('gives up after `retries` and reports the last status', async () => {
    const e = await emulator({ mode: 'multipart', faults: [{ route: 'part', partNumber: 1, action: { type: 'status', status: 503 } }] });
    const data = bytes(1000, 12);
    const { error } = await timed(uploadToVault(data, options(e, data.length, { retries: 2 })));
    expect(error).toBeInstanceOf(OFAuthApiError);
    expect((error as OFAuthApiError).status).toBe(503);
    expect((error as OFAuthApiError).attempts).toBe(3);
    expect(e.requests.filter((r) => r.route === 'part')).toHaveLength(3);
    expect(completes(e)).toHaveLength(0);
  });

  it('a 401 from init is not retried and opens nothing', async () => {
    const e = await emulator();
    const data = bytes(1000, 13);
    const { error } = await timed(uploadToVault(data, { ...options(e, data.length), apiKey: 'wrong-key' }));
    expect(error).toBeInstanceOf(OFAuthApiError);
    expect((error as OFAuthApiError).status).toBe(401);
    expect(e.requests).toHaveLength(1);
  });
});

describe('plans and answers', () => {
  // Every way a plan can be wrong is proven on parseInitAnswer (plan.test.ts, and the property in
  // reliability/properties.test.ts); end to end once, that a refused plan sends no byte at all.
  it('rejects a malformed plan (a gap between parts) before sending any byte', async () => {
    const e = await emulator({ malformedPlan: 'gap', mode: 'multipart' });
    const data = bytes(3 * 64 * KiB, 14);
    const { error } = await timed(uploadToVault(source(data, 64 * KiB), options(e, data.length)));
    expect(error).toBeInstanceOf(PlanError);
    expect((error as PlanError).code).toBe('ERR_OFAUTH_PLAN');
    expect(e.requests.map((r) => r.route)).toEqual(['init']);
  });

  it('an init answer that is not JSON (an HTML page) is a PlanError before any byte', async () => {
    const e = await emulator({ faults: [{ route: 'init', action: { type: 'body', body: '<html>oops</html>', contentType: 'text/html' } }] });
    const data = bytes(3 * 64 * KiB, 14);
    const { error } = await timed(uploadToVault(source(data, 64 * KiB), options(e, data.length)));
    expect(error).toBeInstanceOf(PlanError);
    expect((error as PlanError).issues.join()).toMatch(/not JSON/);
    expect(e.requests.map((r) => r.route)).toEqual(['init']);
  });

  // [label, faults, whether complete must never have been called]
  const untrusted: Array<[string, EmulatorOptions['faults'], boolean]> = [
    ['a part answer naming another upload', [{ route: 'part', partNumber: 1, action: { type: 'mutate', fn: (a) => ({ ...a, mediaUploadId: 'upload:other' }) } }], true],
    ['an HTML answer to complete', [{ route: 'complete', action: { type: 'body', body: '<html>ok</html>', contentType: 'text/html' } }], false],
  ];
  for (const [label, faults, noComplete] of untrusted) {
    it(`${label} is an InvalidResponseError: never finish, no result`, async () => {
      const e = await emulator({ faults });
      const data = bytes(2 * 64 * KiB, 15);
      const upload = new OFAuthUploadStream(options(e, data.length));
      let finished = false;
      upload.on('finish', () => (finished = true));
      const { error } = await timed(pipeline(source(data, 64 * KiB), upload));
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect(finished).toBe(false);
      expect(upload.result).toBeUndefined();
      if (noComplete) expect(completes(e)).toHaveLength(0);
    });
  }

  it('an expired plan fails with UploadExpiredError before any part', async () => {
    const e = await emulator({ expiresInMs: -1000 });
    const data = bytes(2 * 64 * KiB, 17);
    const { error } = await timed(uploadToVault(source(data, 64 * KiB), options(e, data.length)));
    expect(error).toBeInstanceOf(UploadExpiredError);
    expect((error as UploadExpiredError).code).toBe('ERR_OFAUTH_UPLOAD_EXPIRED');
    expect(partPuts(e)).toHaveLength(0);
  });
});

describe('sizes', () => {
  it('more bytes than size: SizeMismatchError at once, nothing past size sent, no complete', async () => {
    const e = await emulator();
    const data = bytes(3 * 64 * KiB, 18);
    const { error } = await timed(uploadToVault(source(data, 64 * KiB), options(e, 2 * 64 * KiB - 100)));
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect((error as SizeMismatchError).expected).toBe(2 * 64 * KiB - 100);
    const sent = partPuts(e).reduce((n, r) => n + r.bytesReceived, 0);
    expect(sent).toBeLessThanOrEqual(2 * 64 * KiB - 100);
    expect(completes(e)).toHaveLength(0);
  });

  it('fewer bytes than size: SizeMismatchError at the end, no complete', async () => {
    const e = await emulator();
    const data = bytes(2 * 64 * KiB, 19);
    const { error } = await timed(uploadToVault(source(data, 64 * KiB), options(e, 3 * 64 * KiB)));
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect((error as SizeMismatchError).received).toBe(2 * 64 * KiB);
    expect(completes(e)).toHaveLength(0);
  });

  it('an empty source fails without opening a session', async () => {
    const e = await emulator();
    const { error, ms } = await timed(uploadToVault(Readable.from([], { objectMode: false }), options(e, 10)));
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(ms).toBeLessThan(1000);
    expect(e.requests).toHaveLength(0);
  });

  it('a source that fails before producing data opens no session', async () => {
    const e = await emulator();
    const boom = new Error('disk on fire');
    const { error } = await timed(uploadToVault(failingSource(Buffer.alloc(0), boom), options(e, 10)));
    expect(error).toBe(boom);
    expect(e.requests).toHaveLength(0);
  });
});

describe('abort, destroy and source failures', () => {
  it('signal abort mid-upload cancels in-flight parts, never completes, rejects with AbortError within a second', async () => {
    const e = await emulator({ faults: [{ route: 'part', partNumber: 2, action: { type: 'hang' } }] });
    const data = bytes(4 * 64 * KiB, 20);
    const controller = new AbortController();
    const upload = new OFAuthUploadStream(options(e, data.length, { signal: controller.signal }));
    upload.once('part', () => setTimeout(() => controller.abort(), 50));
    const { error, ms } = await timed(pipeline(source(data, 64 * KiB), upload));
    expect((error as Error).name).toBe('AbortError');
    expect(error).not.toBeInstanceOf(OFAuthUploadError);
    expect(ms).toBeLessThan(3000);
    expect(completes(e)).toHaveLength(0);
  });

  it('aborting while the source is paused by backpressure settles promptly', async () => {
    const e = await emulator({ faults: [{ route: 'part', action: { type: 'hang' } }] });
    const data = bytes(10 * 64 * KiB, 21);
    const controller = new AbortController();
    const src = source(data, 16 * KiB);
    const upload = new OFAuthUploadStream(options(e, data.length, { signal: controller.signal, concurrency: 2 }));
    const settled = timed(pipeline(src, upload));
    await new Promise((r) => setTimeout(r, 300));
    expect(src.pulled).toBeLessThan(data.length); // really paused
    const started = Date.now();
    controller.abort();
    const { error } = await settled;
    expect(Date.now() - started).toBeLessThan(1000);
    expect((error as Error).name).toBe('AbortError');
    expect(completes(e)).toHaveLength(0);
  });

  it('aborting during a retry backoff wait settles promptly', async () => {
    const e = await emulator({ mode: 'multipart', faults: [{ route: 'part', action: { type: 'status', status: 503, retryAfter: 30 } }] });
    const data = bytes(1000, 22);
    const controller = new AbortController();
    const pending = timed(uploadToVault(data, options(e, data.length, { signal: controller.signal, retryAfterMax: 60_000 })));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    controller.abort();
    const { error } = await pending;
    expect(Date.now() - started).toBeLessThan(1000);
    expect((error as Error).name).toBe('AbortError');
  });

  it('destroy(err) cancels the upload and pipeline rejects with err', async () => {
    const e = await emulator({ faults: [{ route: 'part', partNumber: 2, action: { type: 'hang' } }] });
    const data = bytes(4 * 64 * KiB, 23);
    const upload = new OFAuthUploadStream(options(e, data.length));
    const mine = new Error('changed my mind');
    upload.once('part', () => upload.destroy(mine));
    const { error, ms } = await timed(pipeline(source(data, 64 * KiB), upload));
    expect(error).toBe(mine);
    expect(ms).toBeLessThan(3000);
    expect(completes(e)).toHaveLength(0);
  });

  it('a source that errors mid-stream rejects with its error and never completes', async () => {
    const e = await emulator();
    const boom = new Error('upstream reset');
    // Fails once init reached the emulator: mid-upload, however slow the machine (a fixed delay
    // could fail the source before the init request arrived).
    const initSeen = () => until(() => e.requests.some((r) => r.route === 'init'));
    const { error } = await timed(uploadToVault(failingSource(bytes(100 * KiB, 24), boom, initSeen), options(e, 300 * KiB)));
    expect(error).toBe(boom);
    expect(e.requests.filter((r) => r.route === 'init')).toHaveLength(1);
    expect(completes(e)).toHaveLength(0);
  });

  it('an already-aborted signal fails before any request', async () => {
    const e = await emulator();
    const { error } = await timed(uploadToVault(bytes(10, 1), options(e, 10, { signal: AbortSignal.abort() })));
    expect((error as Error).name).toBe('AbortError');
    expect(e.requests).toHaveLength(0);
  });

  it('removes its listener from a shared signal once each upload settles', async () => {
    const e = await emulator();
    const controller = new AbortController();
    for (let i = 0; i < 15; i++) {
      await uploadToVault(bytes(100, i + 1), options(e, 100, { signal: controller.signal }));
    }
    await timed(uploadToVault(bytes(100, 1), options(e, 200, { signal: controller.signal })));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('progress', () => {
  it('is reported during a part, monotonic, and ends at size even after a retried part', async () => {
    const partSize = 4 * MiB;
    const e = await emulator({ partSize, faults: [{ route: 'part', partNumber: 1, nth: 1, action: { type: 'reset', afterBytes: 3 * MiB } }] });
    const data = bytes(2 * partSize + 123, 25);
    const events: UploadProgress[] = [];
    const upload = new OFAuthUploadStream(options(e, data.length, { concurrency: 1 }));
    upload.on('progress', (p) => events.push(p));
    await pipeline(source(data, 64 * KiB), upload);
    const midPart = events.filter((p) => p.partsCompleted === 0 && p.bytesUploaded > 0);
    expect(midPart.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.bytesUploaded).toBeGreaterThanOrEqual(events[i - 1]!.bytesUploaded);
    }
    expect(Math.max(...events.map((p) => p.bytesUploaded))).toBe(data.length);
    expect(events.at(-1)).toEqual({ bytesUploaded: data.length, totalBytes: data.length, partsCompleted: 3, totalParts: 3 });
  });
});

describe('the onProgress option', () => {
  it("gets exactly what 'progress' listeners get, ending at size", async () => {
    const e = await emulator();
    const data = bytes(3 * 64 * KiB, 33);
    const viaOption: UploadProgress[] = [];
    const upload = new OFAuthUploadStream(options(e, data.length, { onProgress: (p) => viaOption.push(p) }));
    const viaEvent: UploadProgress[] = [];
    upload.on('progress', (p) => viaEvent.push(p));
    await pipeline(source(data, 64 * KiB), upload);
    expect(viaOption.length).toBeGreaterThan(0);
    expect(viaOption).toEqual(viaEvent);
    expect(viaOption.at(-1)).toEqual({ bytesUploaded: data.length, totalBytes: data.length, partsCompleted: 3, totalParts: 3 });
  });
});

describe('listeners that throw', () => {
  it("a throwing 'part' listener fails the upload with its error, without retries or a crash", async () => {
    const e = await emulator();
    const data = bytes(3 * 64 * KiB, 31);
    const upload = new OFAuthUploadStream(options(e, data.length));
    const oops = new Error('bad part listener');
    upload.on('part', () => {
      throw oops;
    });
    const { error } = await timed(pipeline(source(data, 64 * KiB), upload));
    expect(error).toBe(oops);
    expect(completes(e)).toHaveLength(0);
    expect(e.requests.filter((r) => r.route === 'part' && r.partNumber === 1)).toHaveLength(1);
  });

  it("a throwing 'progress' listener fails the upload with its error at its first report mid-body, and the part is never sent again", async () => {
    // Progress is reported from inside the request body, once per MiB the socket took: a 4 MiB part
    // reports mid-body for sure. Counted on the client, so no socket timing decides the outcome.
    const e = await emulator({ partSize: 4 * MiB, mode: 'multipart' });
    const data = bytes(4 * MiB + 10, 32);
    const counted = countingDispatcher();
    const upload = new OFAuthUploadStream(options(e, data.length, { concurrency: 1, retryBaseDelay: 0, dispatcher: counted.dispatcher }));
    const oops = new Error('bad progress listener');
    upload.on('progress', () => {
      throw oops;
    });
    const { error } = await timed(pipeline(source(data, 64 * KiB), upload));
    expect(error).toBe(oops);
    expect(counted.puts).toBe(1);
    expect(completes(e)).toHaveLength(0);
    await counted.close();
  });
});

/** An undici dispatcher that counts the PUTs handed to it (every attempt of every part). */
function countingDispatcher(): { dispatcher: Dispatcher; readonly puts: number; close: () => Promise<void> } {
  const agent = new Agent();
  let puts = 0;
  const dispatcher = agent.compose((dispatch) => (opts, handler) => {
    if (opts.method === 'PUT') puts += 1;
    return dispatch(opts, handler);
  });
  return {
    dispatcher,
    get puts() {
      return puts;
    },
    close: () => agent.close(),
  };
}

describe('secrets', () => {
  it('never sends the key to a foreign-origin uploadUrl, and sends it to the API', async () => {
    const e = await emulator({ foreignOrigin: true });
    const data = bytes(3 * 64 * KiB, 26);
    const result = await uploadToVault(source(data, 64 * KiB), options(e, data.length));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(e.stats.authViolations).toBe(0);
    const foreign = e.requests.filter((r) => r.server === 'foreign');
    expect(foreign).toHaveLength(3);
    for (const r of foreign) {
      expect(Object.keys(r.headers)).not.toContain('apikey');
      expect(Object.keys(r.headers)).not.toContain('x-connection-id');
      expect(Object.keys(r.headers)).not.toContain('content-type');
    }
  });

  it('the key appears in no error message, stack, cause, JSON or inspect output, even when the server echoes it', async () => {
    const echo = `{"error":"bad key ${API_KEY}"}`;
    const e = await emulator({ mode: 'multipart', faults: [{ route: 'part', action: { type: 'status', status: 400, body: echo } }] });
    const data = bytes(1000, 27);
    const { error } = await timed(uploadToVault(data, options(e, data.length)));
    expect(error).toBeInstanceOf(OFAuthApiError);
    const texts = [String(error), (error as Error).stack ?? '', JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })];
    for (const text of texts) expect(text).not.toContain(API_KEY);
    expect((error as OFAuthApiError).bodyExcerpt).toContain('[REDACTED]');
  });

  it('errors for foreign URLs lose the query string (the signature is a credential)', async () => {
    const e = await emulator({ mode: 'multipart', foreignOrigin: true, faults: [{ route: 'part', action: { type: 'status', status: 400 } }] });
    const data = bytes(1000, 28);
    const { error } = await timed(uploadToVault(data, options(e, data.length)));
    expect(error).toBeInstanceOf(OFAuthApiError);
    expect((error as Error).message).not.toMatch(/Signature|\?/);
  });
});

describe('options', () => {
  it('a wrong option throws a TypeError naming it, before any request', async () => {
    const e = await emulator();
    expect(() => new OFAuthUploadStream({ ...options(e, 10), concurrency: 0 })).toThrow(InvalidOptionsError);
    expect(() => new OFAuthUploadStream({ ...options(e, 10), size: 0 })).toThrow(/option "size"/);
    expect(() => new OFAuthUploadStream({ ...options(e, 10), size: -5 })).toThrow(TypeError);
    expect(e.requests).toHaveLength(0);
  });
});

describe('a memfs file as the source', () => {
  it('uploads a file read with createReadStream', async () => {
    const { Volume } = await import('memfs');
    const vol = Volume.fromJSON({});
    const data = bytes(300 * KiB + 17, 29);
    vol.writeFileSync('/clip.mp4', data);
    const size = vol.statSync('/clip.mp4').size as number;
    const e = await emulator();
    const upload = new OFAuthUploadStream(options(e, size));
    await pipeline(vol.createReadStream('/clip.mp4') as unknown as Readable, upload);
    expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
  });
});

describe('Writable contract', () => {
  it('finish fires only after complete answered, and result is set before it', async () => {
    const e = await emulator({ faults: [{ route: 'complete', action: { type: 'delay', ms: 150 } }] });
    const data = bytes(2 * 64 * KiB, 30);
    const upload = new OFAuthUploadStream(options(e, data.length));
    let resultAtFinish: unknown;
    let completeEndedBeforeFinish = false;
    upload.on('finish', () => {
      resultAtFinish = upload.result;
      completeEndedBeforeFinish = completes(e).some((r) => r.status === 200);
    });
    await pipeline(source(data, 64 * KiB), upload);
    expect(resultAtFinish).toBeDefined();
    expect(completeEndedBeforeFinish).toBe(true);
  });

  it('is a real Writable: strings are written as their bytes, writable until ended, a write after end fails', async () => {
    const e = await emulator();
    const text = 'héllo wörld ✓ — ünïcode';
    const data = Buffer.from(text, 'utf8');
    expect(data.length).toBeGreaterThan(text.length);
    const upload = new OFAuthUploadStream(options(e, data.length));
    expect(upload).toBeInstanceOf(Writable);
    expect(upload.writable).toBe(true);
    expect(upload.writableObjectMode).toBe(false);
    upload.on('error', () => undefined);
    upload.end(text, 'utf8');
    await finished(upload);
    expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(upload.writable).toBe(false);
    const late = await new Promise<Error | null | undefined>((resolve) => upload.write('x', resolve));
    expect((late as NodeJS.ErrnoException | undefined)?.code).toBe('ERR_STREAM_WRITE_AFTER_END');
  });

  it('highWaterMark is the Writable\'s: write() asks to wait once that many bytes are buffered', async () => {
    // Init is held back, so every written byte stays buffered in the Writable.
    const e = await emulator({ faults: [{ route: 'init', action: { type: 'delay', ms: 300 } }] });
    const upload = new OFAuthUploadStream(options(e, 1000, { highWaterMark: 100 }));
    expect(upload.writableHighWaterMark).toBe(100);
    expect(upload.write(Buffer.alloc(60))).toBe(true);
    expect(upload.write(Buffer.alloc(60))).toBe(false);
    // Node's default (16 KiB) takes both without asking to wait.
    const byDefault = new OFAuthUploadStream(options(e, 1000));
    expect(byDefault.writableHighWaterMark).toBe(new Writable().writableHighWaterMark);
    expect(byDefault.write(Buffer.alloc(60))).toBe(true);
    expect(byDefault.write(Buffer.alloc(60))).toBe(true);
    const closed = [once(upload, 'close'), once(byDefault, 'close')];
    upload.destroy();
    byDefault.destroy();
    await Promise.all(closed);
  });
});
