import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../lib/emulator';
import {
  AbortError,
  EmptySourceError,
  InvalidOptionsError,
  type ResumeInfo,
  SourceChangedError,
  SourceReadError,
  type UrlUploadOptions,
  uploadFromUrl,
} from '../lib/index';
import { KiB, MiB, bytes, fastRetry, sha256 } from './helpers';
import { type CuttingLink, startCuttingLink } from '../benchmarks/lib/cutting-link.mjs';
import { type RangeResource, type RangeServer, startRangeServer } from './sources/range-server';

const API_KEY = 'sk_live_url_secret_22';
const P = 256 * KiB;
let emu: Emulator | undefined;
let server: RangeServer | undefined;
let link: CuttingLink | undefined;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'upload-url-'));
});

afterEach(async () => {
  await emu?.close();
  await link?.close();
  await server?.close();
  emu = server = link = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function setup(resources: Record<string, RangeResource>, partSize = P): Promise<{ e: Emulator; s: RangeServer }> {
  emu = await startEmulator({ apiKey: API_KEY, partSize, hashing: 'sha256' });
  server = await startRangeServer(resources);
  return { e: emu, s: server };
}

function options(e: Emulator, extra: Partial<UrlUploadOptions> = {}): UrlUploadOptions {
  return { apiKey: API_KEY, connectionId: 'conn_test', baseUrl: e.url, ...fastRetry, ...extra };
}

const gets = (s: RangeServer) => s.requests.filter((r) => r.method === 'GET');
const ranged = (s: RangeServer) => gets(s).filter((r) => r.headers.range !== 'bytes=0-0' && r.headers.range !== undefined);

describe('uploadFromUrl: ranged', () => {
  it('reads every part by its exact range, conditional on the ETag, and the vault stores the same bytes', async () => {
    const data = bytes(10 * P + 777, 5);
    const { e, s } = await setup({ '/media/clip.mp4': { data } });
    const result = await uploadFromUrl(`${s.url}/media/clip.mp4?X-Amz-Signature=secret`, options(e, { concurrency: 3 }));
    expect(result.download).toEqual({ mode: 'ranged', bytes: data.length, requests: 11, rereads: 0 });
    expect(e.media(result.mediaUploadId)).toMatchObject({ filename: 'clip.mp4', contentType: 'video/mp4', size: data.length, completed: true, sha256: sha256(data) });
    const reads = ranged(s);
    expect(reads.map((r) => r.headers.range).sort()).toEqual(
      Array.from({ length: 11 }, (_, i) => `bytes=${i * P}-${Math.min((i + 1) * P, data.length) - 1}`).sort(),
    );
    for (const read of reads) {
      expect(read.headers['if-range']).toBe('"v1"');
      expect(read.headers['if-match']).toBe('"v1"');
      expect(read.headers['accept-encoding']).toBe('identity');
    }
    // The API key never goes to the download's host.
    for (const request of s.requests) expect(JSON.stringify(request.headers)).not.toContain(API_KEY);
  });

  for (const mode of ['planless', 'single'] as const) {
    it(`${mode}: the one PUT streams the whole object from one range request`, async () => {
      const data = bytes(3 * P + 5, 61);
      emu = await startEmulator({ apiKey: API_KEY, partSize: mode === 'single' ? 4 * P : P, mode, hashing: 'sha256' });
      server = await startRangeServer({ '/one.mp4': { data } });
      const result = await uploadFromUrl(`${server.url}/one.mp4`, options(emu));
      expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
      expect(ranged(server).map((r) => r.headers.range)).toEqual([`bytes=0-${data.length - 1}`]);
      expect(result.download).toEqual({ mode: 'ranged', bytes: data.length, requests: 1, rereads: 0 });
    });
  }

  it('parts too large for maxBufferMemory are streamed from their range as they are sent, one request each', async () => {
    const data = bytes(4 * P, 62);
    const { e, s } = await setup({ '/huge.mp4': { data } });
    const result = await uploadFromUrl(`${s.url}/huge.mp4`, options(e, { maxBufferMemory: P / 2 }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(result.download).toEqual({ mode: 'ranged', bytes: data.length, requests: 4, rereads: 0 });
  });

  it('reads up to `concurrency` ranges at once', async () => {
    const data = bytes(12 * P, 6);
    const { e, s } = await setup({ '/a.mp4': { data } });
    // The first answers wait until four range requests are open at once (or 5 s pass, and fail).
    s.holdRanges(4, 5000);
    const result = await uploadFromUrl(`${s.url}/a.mp4`, options(e, { concurrency: 4 }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(s.peakRanges).toBe(4);
  });

  it('Last-Modified alone is a validator: If-Range with the date, If-Unmodified-Since', async () => {
    const data = bytes(3 * P, 7);
    const { e, s } = await setup({ '/lm.mp4': { data, etag: null } });
    const result = await uploadFromUrl(`${s.url}/lm.mp4`, options(e));
    expect(result.download.mode).toBe('ranged');
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    for (const read of ranged(s)) {
      expect(read.headers['if-range']).toBe('Tue, 01 Dec 2026 00:00:00 GMT');
      expect(read.headers['if-unmodified-since']).toBe('Tue, 01 Dec 2026 00:00:00 GMT');
      expect(read.headers['if-match']).toBeUndefined();
    }
  });

  it('a file replaced mid-upload fails typed (SourceChangedError), never finalized, whichever precondition catches it', async () => {
    for (const etagless of [false, true]) {
      const data = bytes(8 * P, 8);
      const { e, s } = await setup({ '/v.mp4': { data, ...(etagless ? { etag: null } : {}) } });
      const error = await uploadFromUrl(`${s.url}/v.mp4`, {
        ...options(e, { concurrency: 1 }),
        onProgress: (p) => {
          if (p.partsCompleted === 2) {
            s.set('/v.mp4', etagless ? { data: bytes(8 * P, 9), etag: null, lastModified: 'Wed, 02 Dec 2026 00:00:00 GMT' } : { data: bytes(8 * P, 9), etag: '"v2"' });
          }
        },
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SourceChangedError);
      expect((error as SourceChangedError).path).toBe(`${s.url}/v.mp4`);
      expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
      await e.close();
      await s.close();
    }
  });

  it('If-Range alone catches the change too: a server that ignores If-Match answers the new version whole (200), refused', async () => {
    const data = bytes(6 * P, 10);
    const { e, s } = await setup({ '/w.mp4': { data } });
    // This server honours If-Range but not If-Match: only the 200 can tell.
    const original = s.set.bind(s);
    const error = await uploadFromUrl(`${s.url}/w.mp4`, {
      ...options(e, { concurrency: 1 }),
      headers: {},
      onProgress: (p) => {
        if (p.partsCompleted === 1) original('/w.mp4', { data: bytes(6 * P, 11), etag: '"v2"', headers: {} });
      },
      downloadDispatcher: stripping('if-match'),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceChangedError);
    expect((error as Error).message).toContain('the whole of another version');
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });

  it('a 503 on a range is read again; a range that keeps failing ends in SourceReadError after rangeRetries', async () => {
    const data = bytes(4 * P, 12);
    const { e, s } = await setup({ '/f.mp4': { data } });
    let fail = 0;
    const result = await uploadFromUrl(`${s.url}/f.mp4`, {
      ...options(e, { concurrency: 1 }),
      onProgress: (p) => {
        if (p.partsCompleted === 1 && fail++ === 0) s.failNext('/f.mp4', 2, 503);
      },
    });
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(result.download.rereads).toBe(2);
    s.failNext('/f.mp4', 1000, 503);
    s.requests.length = 0;
    const error = await uploadFromUrl(`${s.url}/f.mp4`, options(e, { rangeRetries: 2 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceReadError);
    expect(error).toMatchObject({ code: 'ERR_OFAUTH_SOURCE_READ', status: 503, attempts: 3 });
  });

  it('refusals no retry can fix fail at once: 404 at the first request, 403 on a range', async () => {
    const { e, s } = await setup({ '/x.mp4': { data: bytes(3 * P, 13) } });
    const missing = await uploadFromUrl(`${s.url}/nothing.mp4?token=abc`, options(e)).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(SourceReadError);
    expect(missing).toMatchObject({ status: 404, attempts: 1 });
    expect((missing as Error).message).not.toContain('token=abc');
    expect(gets(s)).toHaveLength(1);
    let once = 0;
    const forbidden = await uploadFromUrl(`${s.url}/x.mp4`, {
      ...options(e, { concurrency: 1 }),
      onSession: () => {
        if (once++ === 0) s.failNext('/x.mp4', 1, 403);
      },
    }).catch((caught: unknown) => caught);
    expect(forbidden).toMatchObject({ name: 'SourceReadError', status: 403, attempts: 1 });
  });

  it('a stalled read is cut after rangeTimeout and only its missing bytes are asked for again', async () => {
    const data = bytes(4 * P, 14);
    emu = await startEmulator({ apiKey: API_KEY, partSize: P, hashing: 'sha256' });
    const { createServer } = await import('node:http');
    let stalled = false;
    const ranges: string[] = [];
    const stalling = createServer((req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
      ranges.push(req.headers.range ?? '');
      const [start, end] = [Number(m[1]), Number(m[2])];
      res.writeHead(206, { etag: '"s"', 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': String(end - start + 1) });
      if (!stalled && start === P) {
        // Half the part, then nothing: the client must give up on this answer.
        stalled = true;
        res.write(data.subarray(start, start + P / 2));
        return;
      }
      res.end(data.subarray(start, end + 1));
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    const port = (stalling.address() as { port: number }).port;
    try {
      const result = await uploadFromUrl(`http://127.0.0.1:${port}/s.mp4`, options(emu, { concurrency: 1, rangeTimeout: 300 }));
      expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
      expect(ranges).toContain(`bytes=${P + P / 2}-${2 * P - 1}`);
      expect(result.download.bytes).toBe(data.length);
      expect(result.download.rereads).toBe(1);
    } finally {
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it('behind a link that cuts connections (about one per 2 MiB): intact, each cut costing only what it did not deliver', async () => {
    const data = bytes(24 * MiB, 15);
    const { e, s } = await setup({ '/big.mp4': { data } }, MiB);
    link = await startCuttingLink(s.port, 2 * MiB, 7);
    const result = await uploadFromUrl(`${link.url}/big.mp4`, options(e, { concurrency: 4 }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(link.cuts).toBeGreaterThan(5);
    expect(result.download.rereads).toBeGreaterThan(0);
    expect(result.download.bytes).toBe(data.length);
    expect(link.bytesDown).toBeLessThanOrEqual(1.25 * data.length);
  });
});

describe('uploadFromUrl: the stream path', () => {
  it('a server without ranges is read once, front to back, and the result says so', async () => {
    const data = bytes(5 * P + 1, 16);
    const { e, s } = await setup({ '/n.mp4': { data, ranges: false } });
    const result = await uploadFromUrl(`${s.url}/n.mp4`, options(e));
    expect(result.download).toMatchObject({ mode: 'stream', bytes: data.length, why: 'the server does not answer byte ranges' });
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(gets(s)).toHaveLength(1);
  });

  it('without a length it is spooled', async () => {
    const data = bytes(3 * P, 17);
    const { e, s } = await setup({ '/c.mp4': { data, ranges: false, length: false } });
    const result = await uploadFromUrl(`${s.url}/c.mp4`, options(e));
    expect(result.download.mode).toBe('stream');
    expect(e.media(result.mediaUploadId)).toMatchObject({ size: data.length, sha256: sha256(data) });
  });

  it('ranges without a strong validator (a weak ETag, a Last-Modified of this very second) are not trusted', async () => {
    const data = bytes(3 * P, 18);
    const { e, s } = await setup({ '/weak.mp4': { data, etag: 'W/"w1"', lastModified: null } });
    const result = await uploadFromUrl(`${s.url}/weak.mp4`, options(e));
    expect(result.download.mode).toBe('stream');
    expect(result.download.why).toContain('validator');
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    const now = new Date().toUTCString();
    s.set('/weak.mp4', { data, etag: null, lastModified: now });
    const fresh = await uploadFromUrl(`${s.url}/weak.mp4`, options(e));
    expect(fresh.download.mode).toBe('stream');
  });

  it('ranges: false reads once even from a range server', async () => {
    const data = bytes(3 * P, 19);
    const { e, s } = await setup({ '/r.mp4': { data } });
    const result = await uploadFromUrl(`${s.url}/r.mp4`, options(e, { ranges: false }));
    expect(result.download).toMatchObject({ mode: 'stream', why: 'ranges were turned off' });
    expect(gets(s).every((r) => r.headers.range === undefined)).toBe(true);
  });

  it('a download read once that stalls fails after rangeTimeout (SourceReadError), never hangs', async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: P, hashing: 'sha256' });
    const { createServer } = await import('node:http');
    const data = bytes(4 * P, 64);
    const stalling = createServer((_req, res) => {
      // No ranges; half the body, then silence.
      res.writeHead(200, { 'content-length': String(data.length) });
      res.write(data.subarray(0, 2 * P));
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    try {
      const error = await uploadFromUrl(`http://127.0.0.1:${(stalling.address() as { port: number }).port}/s.mp4`, options(emu, { rangeTimeout: 300 })).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SourceReadError);
      expect((error as Error).message).toMatch(/timeout/i);
      expect(emu.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
    } finally {
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it('a download cut mid-stream fails as the source’s (SourceReadError), not as an upload failure', async () => {
    const data = bytes(6 * MiB, 20);
    const { e, s } = await setup({ '/cut.mp4': { data, ranges: false } }, MiB);
    link = await startCuttingLink(s.port, 3 * MiB, 3);
    const error = await uploadFromUrl(`${link.url}/cut.mp4`, options(e)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceReadError);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });
});

describe('uploadFromUrl: resume', () => {
  it('aborted after some parts, the same call again downloads and sends only the missing parts', async () => {
    const data = bytes(12 * P, 21);
    const { e, s } = await setup({ '/res.mp4': { data } });
    const controller = new AbortController();
    const first = await uploadFromUrl(`${s.url}/res.mp4?sig=1`, {
      ...options(e, { concurrency: 1, resume: { dir } }),
      signal: controller.signal,
      onProgress: (p) => {
        if (p.partsCompleted === 5) controller.abort();
      },
    }).catch((caught: unknown) => caught);
    expect(first).toBeInstanceOf(AbortError);
    const sentBefore = e.requests.filter((r) => r.route === 'part').length;
    const servedBefore = s.servedBytes;
    const resumed: ResumeInfo[] = [];
    // Another query string (a new presigned URL): the same object.
    const result = await uploadFromUrl(`${s.url}/res.mp4?sig=2`, options(e, { concurrency: 1, resume: { dir }, onResume: (info) => resumed.push(info) }));
    expect(resumed).toEqual([expect.objectContaining({ restarted: false, partsDone: sentBefore })]);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    const missing = 12 - sentBefore;
    expect(e.requests.filter((r) => r.route === 'part').length - sentBefore).toBe(missing);
    expect(s.servedBytes - servedBefore).toBe(missing * P + 1);
    expect(result.download.bytes).toBe(missing * P);
  });

  it('a new version of the object starts over, and says why', async () => {
    const data = bytes(6 * P, 22);
    const { e, s } = await setup({ '/ch.mp4': { data } });
    const controller = new AbortController();
    await uploadFromUrl(`${s.url}/ch.mp4`, {
      ...options(e, { concurrency: 1, resume: { dir } }),
      signal: controller.signal,
      onProgress: (p) => {
        if (p.partsCompleted === 2) controller.abort();
      },
    }).catch(() => undefined);
    const next = bytes(6 * P, 23);
    s.set('/ch.mp4', { data: next, etag: '"v2"' });
    const resumed: ResumeInfo[] = [];
    const result = await uploadFromUrl(`${s.url}/ch.mp4`, options(e, { resume: { dir }, onResume: (info) => resumed.push(info) }));
    expect(resumed).toEqual([expect.objectContaining({ restarted: true, reason: 'changed' })]);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(next));
  });
});

describe('uploadFromUrl: the dispatcher downloads go through', () => {
  it('a global dispatcher set with undici (a proxy, a MockAgent) is used; Node’s own fetch in that slot is not', async () => {
    const data = bytes(2 * P, 63);
    const { e, s } = await setup({ '/g.mp4': { data } });
    const previous = getGlobalDispatcher();
    try {
      // Node's fetch puts its bundled undici in the global slot on first use (Node 22: another
      // handler API): downloads must not break on it.
      await (await fetch(`${s.url}/g.mp4`)).arrayBuffer();
      const viaNodeFetch = await uploadFromUrl(`${s.url}/g.mp4`, options(e));
      expect(e.media(viaNodeFetch.mediaUploadId)?.sha256).toBe(sha256(data));
      // A dispatcher of this undici, set by the caller, is where downloads go: here it maps a
      // host that does not exist to the test server.
      setGlobalDispatcher(new Agent().compose(rewriting('http://media.invalid', s.url)));
      const viaCallers = await uploadFromUrl('http://media.invalid/g.mp4', options(e));
      expect(e.media(viaCallers.mediaUploadId)?.sha256).toBe(sha256(data));
    } finally {
      setGlobalDispatcher(previous);
    }
  });
});

describe('uploadFromUrl: input', () => {
  it('a host that does not exist fails at once (no retries), typed', async () => {
    const { e } = await setup({});
    const started = Date.now();
    // The resolver's answer, without asking one: a connector that fails as getaddrinfo does.
    const noSuchHost = new Agent({
      connect: (_options, callback) => callback(Object.assign(new Error('getaddrinfo ENOTFOUND cdn.example.test'), { code: 'ENOTFOUND' }), null),
    });
    const error = await uploadFromUrl('http://cdn.example.test/clip.mp4', { ...options(e, { retryBaseDelay: 2000, retryMaxDelay: 2000 }), downloadDispatcher: noSuchHost }).catch((caught: unknown) => caught);
    await noSuchHost.close();
    expect(error).toBeInstanceOf(SourceReadError);
    expect(error).toMatchObject({ attempts: 1, message: expect.stringContaining('ENOTFOUND') });
    // One backoff of 2 s would already be past this.
    expect(Date.now() - started).toBeLessThan(1900);
  });

  it('refuses what is not an http(s) URL, and an empty download, typed', async () => {
    const { e, s } = await setup({ '/empty.mp4': { data: Buffer.alloc(0) } });
    await expect(uploadFromUrl('ftp://x/y', options(e))).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(uploadFromUrl('not a url', options(e))).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(uploadFromUrl(`${s.url}/empty.mp4`, options(e))).rejects.toBeInstanceOf(EmptySourceError);
    await expect(uploadFromUrl(`${s.url}/x`, { ...options(e), rangeRetries: -1 })).rejects.toThrow(/rangeRetries/);
  });
});

import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';


/** An interceptor sending requests for one origin to another. */
function rewriting(from: string, to: string): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch(String(opts.origin).replace(/\/$/, '') === from ? { ...opts, origin: to } : opts, handler);
}

/** A dispatcher that drops one request header: a server that never sees it. */
function stripping(name: string): Dispatcher {
  return new Agent().compose((dispatch) => (opts, handler) => {
    const headers = { ...(opts.headers as Record<string, string>) };
    delete headers[name];
    return dispatch({ ...opts, headers }, handler);
  });
}
