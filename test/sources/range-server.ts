import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';

/** What the server serves at a path, and how. */
export interface RangeResource {
  data: Buffer;
  /** A strong ETag (quoted); null: none. Default: `"v1"`. */
  etag?: string | null;
  /** Default: a fixed date well in the past (strong); null: none. */
  lastModified?: string | null;
  /** false: the server ignores Range (a 200 with the whole body). Default true. */
  ranges?: boolean;
  /** false: no Content-Length on a 200 (chunked). Default true. */
  length?: boolean;
  contentType?: string;
  /** Extra headers on every answer. */
  headers?: Record<string, string>;
}

export interface RangeServer {
  url: string;
  port: number;
  /** Every request, in arrival order. */
  requests: { method: string; path: string; headers: IncomingHttpHeaders }[];
  /** Body bytes written (before any cut on the way). */
  readonly servedBytes: number;
  /** The most range answers (206) being sent at once. */
  readonly peakRanges: number;
  /** Replaces what a path serves (a new version of the file). */
  set(path: string, resource: RangeResource): void;
  /**
   * Holds range answers until `count` range requests are waiting at once (then answers them all),
   * or `ms` passed: proves a client asks for ranges in parallel without relying on timing.
   */
  holdRanges(count: number, ms: number): void;
  /** Answers the next `count` requests for `path` with `status` (e.g. 503). */
  failNext(path: string, count: number, status: number): void;
  close(): Promise<void>;
}

const PAST = 'Tue, 01 Dec 2026 00:00:00 GMT';

function etagMatches(header: string | undefined, etag: string | null): boolean {
  if (header === undefined) return true;
  if (header.trim() === '*') return etag !== null;
  return etag !== null && header.split(',').some((tag) => tag.trim() === etag);
}

/**
 * A CDN-like server on 127.0.0.1 with real range semantics (RFC 9110): `Range: bytes=s-e` → 206
 * with Content-Range; `If-Range` that does not match → the whole current version (200);
 * `If-Match` / `If-Unmodified-Since` that fail → 412; a range past the end → 416.
 */
export async function startRangeServer(resources: Record<string, RangeResource>): Promise<RangeServer> {
  const served = new Map(Object.entries(resources));
  const failures = new Map<string, { count: number; status: number }>();
  const requests: RangeServer['requests'] = [];
  let servedBytes = 0;
  let openRanges = 0;
  let hold: { count: number; waiting: Array<() => void>; timer: NodeJS.Timeout } | undefined;
  const releaseHeld = (): void => {
    if (hold === undefined) return;
    clearTimeout(hold.timer);
    const waiting = hold.waiting;
    hold = undefined;
    for (const go of waiting) go();
  };
  let peakRanges = 0;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ method: req.method ?? '', path, headers: req.headers });
    const failure = failures.get(path);
    if (failure !== undefined && failure.count > 0) {
      failure.count--;
      res.writeHead(failure.status, { 'content-type': 'text/plain' }).end('try later');
      return;
    }
    const resource = served.get(path);
    if (resource === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      return;
    }
    const etag = resource.etag === undefined ? '"v1"' : resource.etag;
    const lastModified = resource.lastModified === undefined ? PAST : resource.lastModified;
    const size = resource.data.length;
    const headers: Record<string, string> = {
      'content-type': resource.contentType ?? 'video/mp4',
      ...(resource.ranges === false ? {} : { 'accept-ranges': 'bytes' }),
      ...(etag === null ? {} : { etag }),
      ...(lastModified === null ? {} : { 'last-modified': lastModified }),
      ...resource.headers,
    };
    const ifMatch = req.headers['if-match'];
    const ifUnmodified = req.headers['if-unmodified-since'];
    if (!etagMatches(ifMatch, etag) || (ifUnmodified !== undefined && lastModified !== null && Date.parse(lastModified) > Date.parse(ifUnmodified))) {
      res.writeHead(412, headers).end();
      return;
    }
    const send = (status: number, body: Buffer, extra: Record<string, string>): void => {
      const withLength = status !== 200 || resource.length !== false;
      res.writeHead(status, { ...headers, ...extra, ...(withLength ? { 'content-length': String(body.length) } : {}) });
      servedBytes += body.length;
      res.end(body);
    };
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const rangeHolds = ifRange === undefined || ifRange === etag || ifRange === lastModified;
    if (resource.ranges === false || range === null || !rangeHolds) {
      send(200, resource.data, {});
      return;
    }
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), size - 1);
    if (start >= size || start > end) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    openRanges++;
    peakRanges = Math.max(peakRanges, openRanges);
    res.once('close', () => openRanges--);
    const answer = () => send(206, resource.data.subarray(start, end + 1), { 'content-range': `bytes ${start}-${end}/${size}` });
    // A probe (no If-Range yet) is never held: only the part reads are.
    if (hold === undefined || ifRange === undefined) {
      answer();
      return;
    }
    hold.waiting.push(answer);
    if (hold.waiting.length >= hold.count) releaseHeld();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get servedBytes() {
      return servedBytes;
    },
    get peakRanges() {
      return peakRanges;
    },
    set: (path, resource) => void served.set(path, resource),
    holdRanges: (count, ms) => {
      hold = { count, waiting: [], timer: setTimeout(releaseHeld, ms) };
    },
    failNext: (path, count, status) => void failures.set(path, { count, status }),
    close: () =>
      new Promise<void>((resolve) => {
        releaseHeld();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
