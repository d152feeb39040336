import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../lib/emulator';
import { InvalidResponseError, NetworkError, OFAuthApiError, uploadToVault } from '../lib/index';
import { type HttpContext, type RequestSpec, send } from '../lib/http';
import { RateLimitTracker } from '../lib/rate/rate-limit-tracker';
import { RatePacer } from '../lib/rate/rate-pacer';
import { KiB, MiB, NEAR_LINK_TIMING, bytes, fastRetry, sha256, source, timed } from './helpers';

// lib/http.ts on its own: what it retries, what it refuses to retry, what it reads of an answer,
// and that a redirect is an answer, never a hop to somewhere else with the key.

const KEY = 'sk_http_SECRET_4242';
const agent = new Agent({ keepAliveTimeout: 1000 });
afterAll(() => agent.close());

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A local server answering with `handler`; it counts the requests it saw. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function context(extra: Partial<HttpContext> = {}): HttpContext {
  return {
    dispatcher: agent,
    signal: AbortSignal.timeout(10_000),
    policy: { retries: 3, baseDelay: 1, maxDelay: 5, retryAfterMax: 50 },
    rate: { pacer: new RatePacer(), tracker: new RateLimitTracker('conn_http'), maxWaitMs: 60_000, concurrency: 4 },
    secrets: [KEY],
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
    ...extra,
  };
}

const put = (url: string, extra: Partial<RequestSpec> = {}): RequestSpec => ({ method: 'PUT', url, headers: { apiKey: KEY }, body: () => 'abc', ...extra });

/** Reads the body, then answers. */
function answer(res: ServerResponse, req: IncomingMessage, status: number, body: string, headers: Record<string, string> = {}): void {
  req.resume();
  req.on('end', () => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  });
}

describe('errors that are our own are not retried', () => {
  // undici refuses these before or while sending: sending again cannot help (FATAL_CODES).
  const cases: Array<[string, string, Partial<RequestSpec>]> = [
    ['a body shorter than its Content-Length', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', { headers: { 'content-length': '10' } }],
    ['an invalid header value', 'UND_ERR_INVALID_ARG', { headers: { 'x-note': 'a\nb' } }],
    ['an unsupported header', 'UND_ERR_NOT_SUPPORTED', { headers: { expect: '100-continue' } }],
  ];
  for (const [label, code, spec] of cases) {
    it(`${label} (${code}) fails at the first attempt as a NetworkError`, async () => {
      const { url, seen } = await serve((req, res) => answer(res, req, 200, '{}'));
      const { error } = await timed(send(put(`${url}/p`, spec), context()));
      expect(error).toBeInstanceOf(NetworkError);
      expect((error as NetworkError).attempts).toBe(1);
      expect(((error as NetworkError).cause as { code?: string }).code).toBe(code);
      expect(seen.length).toBeLessThanOrEqual(1);
    });
  }

  it('while a network error of the same request is retried (the control)', async () => {
    let calls = 0;
    const { url } = await serve((req, res) => {
      calls += 1;
      if (calls === 1) req.socket.destroy();
      else answer(res, req, 200, '{"ok":true}');
    });
    const answered = await send(put(`${url}/p`), context());
    expect(answered.attempts).toBe(2);
  });
});

describe('Retry-After is capped by retryAfterMax', () => {
  for (const status of [429, 503]) {
    it(`a ${status} asking for 100 s is retried after retryAfterMax (50 ms)`, async () => {
      let calls = 0;
      const { url } = await serve((req, res) => {
        calls += 1;
        if (calls === 1) answer(res, req, status, '{"error":"later"}', { 'retry-after': '100' });
        else answer(res, req, 200, '{"ok":true}');
      });
      // Without the cap this waits 100 s: the signal turns that into a quick failure.
      const { value, error, ms } = await timed(send(put(`${url}/p`), context({ signal: AbortSignal.timeout(5_000) })));
      expect(error).toBeUndefined();
      expect(value?.attempts).toBe(2);
      expect(ms).toBeLessThan(5_000);
    });
  }
});

describe('response size caps', () => {
  /** Writes `total` bytes of `fill` in 1 MiB writes, respecting backpressure; resolves how it ended. */
  function stream(res: ServerResponse, total: number, fill: string): Promise<'finished' | 'cut'> {
    return new Promise((resolve) => {
      const chunk = Buffer.alloc(MiB, fill);
      let left = total;
      res.once('close', () => resolve(res.writableFinished ? 'finished' : 'cut'));
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
  }

  it('a huge 2xx answer is cut at maxResponseBytes (1 MiB by default)', async () => {
    const { url } = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(3 * MiB) });
        void stream(res, 3 * MiB, 'a');
      });
    });
    const byDefault = await send(put(`${url}/p`), context());
    expect(byDefault.text.length).toBe(MiB);
    const small = await send(put(`${url}/p`, { maxResponseBytes: 1000 }), context());
    expect(small.text).toBe('a'.repeat(1000));
  });

  it('a huge error answer is read only in part (64 KiB) and excerpted, never quoting the key', async () => {
    let ended: Promise<'finished' | 'cut'> | undefined;
    const total = 64 * MiB;
    const { url } = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'text/plain', 'content-length': String(total + KEY.length) });
        res.write(KEY);
        ended = stream(res, total, 'e');
      });
    });
    const { error } = await timed(send(put(`${url}/p`), context()));
    expect(error).toBeInstanceOf(OFAuthApiError);
    const excerpt = (error as OFAuthApiError).bodyExcerpt;
    expect(excerpt.length).toBeLessThanOrEqual(301);
    expect(excerpt.startsWith('[REDACTED]eee')).toBe(true);
    // The client hung up long before the 64 MiB were sent.
    expect(await ended).toBe('cut');
  });

  it('end to end: a complete answer padded past 1 MiB fails typed, never a success', async () => {
    const emulator = await startEmulator({ mode: 'multipart', partSize: 1000, faults: [{ route: 'complete', action: { type: 'mutate', fn: (a) => ({ ...a, pad: 'x'.repeat(2 * MiB) }) } }] });
    try {
      const { error } = await timed(uploadToVault(bytes(1500, 1), {
        apiKey: emulator.apiKey, connectionId: 'c', baseUrl: emulator.url, filename: 'f', contentType: 'video/mp4', size: 1500, retries: 0,
      }));
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect((error as Error).message).toMatch(/not JSON/);
    } finally {
      await emulator.close();
    }
  });
});

describe('redirects', () => {
  // A 3xx from the API is an answer we cannot accept: never a success, never followed to the
  // host it names (which would receive the key).
  const cases: Array<[number, 'part' | 'complete']> = [
    [302, 'part'],
    [307, 'part'],
    [301, 'complete'],
    [308, 'complete'],
  ];
  for (const [status, where] of cases) {
    it(`a ${status} on ${where} to another host is not followed and fails the upload typed`, async () => {
      const elsewhere = await serve((req, res) => answer(res, req, 200, '{}'));
      const id = 'upload:redirected';
      const size = 2000;
      const api = await serve((req, res) => {
        const origin = `http://${req.headers.host}`;
        const to = { location: `${elsewhere.url}${req.url}` };
        if (req.url === '/v2/access/uploads/init') {
          const parts = [1, 2].map((n) => ({ partNumber: n, uploadUrl: `${origin}/parts/${n}`, byteRange: { start: (n - 1) * 1000, end: n * 1000 - 1 } }));
          answer(res, req, 200, JSON.stringify({ mediaUploadId: id, uploadType: 'multipart', totalParts: 2, partSize: 1000, expiresAt: new Date(Date.now() + 60_000).toISOString(), parts, completeUrl: `${origin}/complete` }));
        } else if (req.url?.startsWith('/parts/')) {
          const partNumber = Number(req.url.slice('/parts/'.length));
          // A body that would pass for a success: only the status says otherwise.
          answer(res, req, where === 'part' && partNumber === 2 ? status : 200, JSON.stringify({ mediaUploadId: id, partNumber, etag: `"e${partNumber}"` }), where === 'part' ? to : {});
        } else {
          answer(res, req, status, JSON.stringify({ mediaUploadId: id, media: { id: 'm1' } }), to);
        }
      });
      const { error } = await timed(uploadToVault(bytes(size, 2), {
        apiKey: KEY, connectionId: 'c', baseUrl: api.url, filename: 'f', contentType: 'video/mp4', size, retries: 2, retryBaseDelay: 1,
      }));
      expect(error).toBeInstanceOf(OFAuthApiError);
      expect((error as OFAuthApiError).status).toBe(status);
      expect((error as OFAuthApiError).attempts).toBe(1);
      expect(elsewhere.seen).toHaveLength(0);
    });
  }
});

// ── connection reuse ──────────────────────────────────────────────────────────────────────────

const REUSE_KEY = 'sk_test_http_reuse';
const counted: Agent[] = [];
const reuseEmulators: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  for (const a of counted.splice(0)) await a.close();
  for (const e of reuseEmulators.splice(0)) await e.close();
});
async function reuseEmulator() {
  const e = await startEmulator({ apiKey: REUSE_KEY, partSize: 64 * KiB });
  reuseEmulators.push(e);
  return e;
}

/** An Agent that counts the connections it opens. */
function countingAgent(): { agent: Agent; connections: () => number } {
  let n = 0;
  const a = new Agent({ keepAliveTimeout: 10_000 });
  a.on('connect', () => n++);
  counted.push(a);
  return { agent: a, connections: () => n };
}

describe('connection reuse', () => {
  // undici marks a kept-alive socket reusable a turn after its response; a request dispatched in
  // the same turn as the previous answer would open a connection of its own.
  for (const concurrency of [1, 3, 6]) {
    it(`an upload at concurrency ${concurrency} opens no more connections than that: init, parts and complete reuse them`, NEAR_LINK_TIMING, async () => {
      const emu = await reuseEmulator();
      const { agent: dispatcher, connections } = countingAgent();
      const data = bytes(48 * 64 * KiB + 5, concurrency);
      const result = await uploadToVault(source(data, 16 * KiB), {
        apiKey: REUSE_KEY,
        connectionId: 'conn_test',
        baseUrl: emu.url,
        filename: 'clip.mp4',
        contentType: 'video/mp4',
        size: data.length,
        concurrency,
        dispatcher,
        ...fastRetry,
      });
      expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
      expect(emu.requests.length).toBe(49 + 2);
      expect(connections()).toBeLessThanOrEqual(concurrency);
    });
  }
});
