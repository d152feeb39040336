import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../lib/emulator';
import {
  InvalidResponseError,
  OFAuthUploadStream,
  PlanError,
  SizeMismatchError,
  type OFAuthUploadOptions,
  type UploadProgress,
} from '../lib/index';
import { KiB, MiB, bytes, fastRetry, sha256, source, timed } from './helpers';

// Edge cases found in review: each of these once ended wrong.

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  emu = await startEmulator({ partSize: 64 * KiB, ...options });
  return emu;
}

const options = (baseUrl: string, apiKey: string, size: number, extra: Partial<OFAuthUploadOptions> = {}): OFAuthUploadOptions => ({
  apiKey, connectionId: 'edge', baseUrl, filename: 'e.bin', contentType: 'video/mp4', size, ...fastRetry, ...extra,
});

/** Yields `data`, then after a pause one byte too many. */
function overrunning(data: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield data;
      await new Promise((r) => setTimeout(r, 200));
      yield Buffer.from([1]);
    })(),
    { objectMode: false },
  );
}

describe('an overrun never leaves a finalized media behind', () => {
  const cases: Array<[string, EmulatorOptions, Partial<OFAuthUploadOptions>]> = [
    ['single-finalize plan', { mode: 'single' }, {}],
    ['plan-less, held', { mode: 'planless' }, {}],
    ['plan-less, streamed', { mode: 'planless' }, { planlessRetryBuffer: 0 }],
    ['multipart', { mode: 'multipart' }, {}],
  ];
  for (const [label, emuOptions, extra] of cases) {
    it(`${label}: one byte past size after a pause → SizeMismatchError, nothing finalized`, async () => {
      const e = await emulator(emuOptions);
      const data = bytes(150 * KiB, 1);
      const { error } = await timed(pipeline(overrunning(data), new OFAuthUploadStream(options(e.url, e.apiKey, data.length, extra))));
      expect(error).toBeInstanceOf(SizeMismatchError);
      expect(e.uploads().every((u) => !u.completed)).toBe(true);
      expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
    });
  }
});

describe('destroy() without an error', () => {
  it('mid-stream keeps Node\'s meaning: close without an error event, and pipeline rejects with premature close', async () => {
    const e = await emulator({ mode: 'multipart', faults: [{ route: 'part', action: { type: 'hang' } }] });
    const data = bytes(300 * KiB, 2);
    const upload = new OFAuthUploadStream(options(e.url, e.apiKey, data.length));
    const errors: unknown[] = [];
    upload.on('error', (err) => errors.push(err));
    const src = new Readable({ read() {} });
    src.push(data.subarray(0, 100 * KiB));
    const pending = timed(pipeline(src, upload));
    setTimeout(() => upload.destroy(), 100);
    const { error } = await pending;
    expect((error as { code?: string }).code).toBe('ERR_STREAM_PREMATURE_CLOSE');
    expect(errors).toEqual([]);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });

  it('after the source ended still rejects pipeline: an unfinished upload is never a success', async () => {
    const e = await emulator({ mode: 'multipart', faults: [{ route: 'part', action: { type: 'hang' } }] });
    const data = bytes(300 * KiB, 2);
    const upload = new OFAuthUploadStream(options(e.url, e.apiKey, data.length));
    setTimeout(() => upload.destroy(), 200);
    const { error } = await timed(pipeline(source(data, 64 * KiB), upload));
    expect((error as Error | undefined)?.name).toBe('AbortError');
    expect(upload.result).toBeUndefined();
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });
});

describe('a plan-less server that answers before the body is complete', () => {
  it('fails the upload typed instead of hanging', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/v2/access/uploads/init') {
        req.resume();
        req.on('end', () => res.end(JSON.stringify({ mediaUploadId: 'upload:early' })));
        return;
      }
      // Answers success at once, without reading the body.
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ mediaUploadId: 'upload:early', media: { id: 'm1' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const size = 20 * MiB;
      const slow = new Readable({
        highWaterMark: 64 * KiB,
        read() {
          setTimeout(() => this.push(Buffer.alloc(64 * KiB, 3)), 2);
        },
      });
      const { error, ms } = await timed(pipeline(slow, new OFAuthUploadStream(options(url, 'k', size, { planlessRetryBuffer: 0 }))));
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect((error as Error).message).toMatch(/before the body was complete/);
      expect(ms).toBeLessThan(5000);
      // The same with the whole file in one chunk, sent only once the stream has ended.
      const { error: whole } = await timed(pipeline(Readable.from([Buffer.alloc(5 * MiB, 1)], { objectMode: false }), new OFAuthUploadStream(options(url, 'k', 5 * MiB))));
      expect(whole).toBeInstanceOf(InvalidResponseError);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('plan-less retries replay exactly what was taken', () => {
  it('a reset mid-body while the source pauses longer than the backoff: the retry still sends every byte once', async () => {
    for (let run = 0; run < 3; run++) {
      const e = await emulator({ mode: 'planless', faults: [{ route: 'single', nth: 1, action: { type: 'reset', afterBytes: 6 * MiB + 64 * KiB } }] });
      const data = bytes(7 * MiB, run + 1);
      const pausing = Readable.from(
        (async function* () {
          for (let o = 0; o < data.length; o += 64 * KiB) {
            if (o >= 6 * MiB) await new Promise((r) => setTimeout(r, 3));
            yield data.subarray(o, o + 64 * KiB);
          }
        })(),
        { objectMode: false },
      );
      const upload = new OFAuthUploadStream(options(e.url, e.apiKey, data.length, { retryBaseDelay: 0 }));
      await pipeline(pausing, upload);
      expect(e.media(upload.result!.mediaUploadId)?.sha256).toBe(sha256(data));
      expect(e.requests.filter((r) => r.route === 'single')).toHaveLength(2);
      await e.close();
      emu = undefined;
    }
  });
});

describe('values a server echoes are never quoted', () => {
  const KEY = 'sk_live_ECHO_me_not_7788';
  it('a plan whose expiresAt carries the key', async () => {
    const e = await emulator({ apiKey: KEY, mode: 'multipart', planTransform: (plan) => ({ ...plan, expiresAt: `x${KEY}` }) });
    const { error } = await timed(pipeline(source(bytes(1000, 1), 1000), new OFAuthUploadStream(options(e.url, KEY, 1000))));
    expect(error).toBeInstanceOf(PlanError);
    expect(JSON.stringify(error) + inspect(error, { depth: 8 }) + String(error)).not.toContain(KEY);
  });

  it('a complete answer whose mediaUploadId carries the key', async () => {
    const e = await emulator({ apiKey: KEY, mode: 'multipart', faults: [{ route: 'complete', action: { type: 'mutate', fn: (a) => ({ ...a, mediaUploadId: `u:${KEY}` }) } }] });
    const { error } = await timed(pipeline(source(bytes(1000, 1), 1000), new OFAuthUploadStream(options(e.url, KEY, 1000))));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(JSON.stringify(error) + inspect(error, { depth: 8 }) + String(error)).not.toContain(KEY);
  });
});

describe('presigned URLs', () => {
  it("a storage server echoing the URL's signature does not put it in the error", async () => {
    const SIG = 'S1gnatureValue_0123456789abcdef';
    const storage = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = 403;
        res.end(`<Error><Code>SignatureDoesNotMatch</Code><Signature>${SIG}</Signature><Url>${req.url}</Url></Error>`);
      });
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    try {
      const port = (storage.address() as AddressInfo).port;
      const e = await emulator({
        mode: 'multipart',
        planTransform: (plan) => ({
          ...plan,
          parts: plan.parts.map((p) => ({ ...p, uploadUrl: `http://127.0.0.1:${port}/bucket/part${p.partNumber}?X-Signature=${SIG}&X-Expires=1` })),
        }),
      });
      const { error } = await timed(pipeline(source(bytes(1000, 1), 1000), new OFAuthUploadStream(options(e.url, e.apiKey, 1000))));
      expect((error as { status?: number }).status).toBe(403);
      const text = String(error) + JSON.stringify(error) + inspect(error, { depth: 8 });
      expect(text).toContain('SignatureDoesNotMatch');
      expect(text).not.toContain(SIG);
    } finally {
      storage.closeAllConnections();
      await new Promise((r) => storage.close(r));
    }
  });
});

describe('high concurrency', () => {
  it('64 parts in flight raise no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const e = await emulator({ mode: 'multipart', partSize: 16 * KiB, faults: [{ route: 'part', action: { type: 'delay', ms: 50 } }] });
      const data = bytes(80 * 16 * KiB, 4);
      await pipeline(source(data, 64 * KiB), new OFAuthUploadStream(options(e.url, e.apiKey, data.length, { concurrency: 64 })));
      expect(e.stats.maxConcurrentPuts).toBeGreaterThan(10);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('plan-less progress', () => {
  it('is reported at least every MiB even when the source hands over one big chunk', async () => {
    const e = await emulator({ mode: 'planless' });
    const size = 24 * MiB;
    const events: UploadProgress[] = [];
    const upload = new OFAuthUploadStream(options(e.url, e.apiKey, size, { planlessRetryBuffer: 0 }));
    upload.on('progress', (p) => events.push(p));
    await pipeline(Readable.from([Buffer.alloc(size - 1, 9), Buffer.alloc(1, 9)], { objectMode: false }), upload);
    const midway = new Set(events.filter((p) => p.bytesUploaded < size).map((p) => p.bytesUploaded));
    expect(midway.size).toBeGreaterThanOrEqual(20);
    expect(events.at(-1)).toEqual({ bytesUploaded: size, totalBytes: size, partsCompleted: 1, totalParts: 1 });
  });
});
