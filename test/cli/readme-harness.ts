import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { delimiter, join } from 'node:path';
import type { Emulator } from '../../lib/emulator/index';
import { REAL_FFMPEG } from './real-ffmpeg';
import { ROOT } from './run-cli';

// Everything a docs sample (README.md and docs/*.md) reaches, on this machine, so every sample
// runs as written:
// - the API at OFAUTH_BASE_URL: a front server that passes /v2/access/uploads/* through to the
//   emulator, Host header included (the emulator builds its plans from it, so they point back
//   here), and answers the post and message calls itself, as the API would for these samples;
// - S3 for the S3 sample: AWS_ENDPOINT_URL_S3 points the SDK at a local GetObject;
// - https://cdn.example.com for the download sample: README_CDN_URL, mapped by the preload, which
//   sends its file chunked (no Content-Length), with a Content-Length, or gzip-encoded (`cdn`);
// - ffmpeg: the real one of @ffmpeg-installer/ffmpeg, through a shim first on PATH
//   (test/fixtures/readme/bin/ffmpeg) that copies what it writes to stdout to README_FFMPEG_TEE;
// - and nothing else: the preload (test/fixtures/readme/preload.mjs) refuses other host names.

export const README_BIN = join(ROOT, 'test', 'fixtures', 'readme', 'bin');
export const README_PRELOAD = join(ROOT, 'test', 'fixtures', 'readme', 'preload.mjs');
/** Where, in a sample's directory, the ffmpeg shim copies what ffmpeg wrote to stdout. */
export const FFMPEG_TEE = '.ffmpeg-stdout';

export interface FrontCall {
  route: 'post' | 'message';
  status: number;
  mediaItems: unknown;
}

interface Objects {
  /** The S3 objects by `bucket/key`, and the CDN's files by path. */
  s3: Record<string, { body: Buffer; contentType: string }>;
  cdn: Record<string, { body: Buffer; contentType: string }>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? `http://127.0.0.1:${address.port}` : '');
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Answers a GET with `Range: bytes=s-e` as S3 and CDNs do: 206 with Content-Range, 412 when
 * If-Match names another ETag, the whole file when If-Range does. False when not a range request.
 */
function answerRange(req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string | number>): boolean {
  const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
  const etag = String(headers.etag);
  if (req.headers['if-match'] !== undefined && req.headers['if-match'] !== etag) {
    res.writeHead(412, headers).end();
    return true;
  }
  if (range === null || (req.headers['if-range'] !== undefined && req.headers['if-range'] !== etag)) return false;
  const start = Number(range[1]);
  const end = Math.min(Number(range[2]), body.length - 1);
  res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
  res.end(body.subarray(start, end + 1));
  return true;
}

/** A file server for S3 HeadObject and GetObject (path style, ranges too): Content-Length, type, no encoding. */
function fileServer(files: () => Record<string, { body: Buffer; contentType: string }>, needsAuth: boolean): Server {
  return createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/').slice(1);
    const file = files()[path];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || file === undefined) return answer(res, 404, { error: `no ${path}` });
    // The SDK signs every request; an unsigned one means the sample is not using the SDK as shown.
    if (needsAuth && !String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) return answer(res, 403, { error: 'unsigned' });
    const headers = {
      'content-type': file.contentType,
      'content-length': file.body.length,
      etag: `"${createHash('md5').update(file.body).digest('hex')}"`,
      'accept-ranges': 'bytes',
      connection: 'close',
    };
    if (req.method === 'HEAD') return void res.writeHead(200, headers).end();
    if (answerRange(req, res, file.body, headers)) return;
    res.writeHead(200, headers);
    res.end(file.body);
  });
}

/**
 * How the CDN sends a file: 'chunked' with no Content-Length (the size is unknown to the client);
 * 'length' with one, holding the second half back until the upload's init arrived (or 5 s
 * passed), so a test can tell that the client streamed instead of spooling; 'gzip' encoded with
 * the compressed length, although the client asked for the identity encoding.
 */
export type CdnMode = 'chunked' | 'length' | 'gzip';

export class ReadmeHarness {
  readonly calls: FrontCall[] = [];
  /** When set, the front answers posts with 400, to prove a sample checks `response.ok`. */
  rejectPosts = false;
  cdnMode: CdnMode = 'chunked';
  /** In 'length' mode: whether the upload's init arrived while the download was half sent. */
  initBeforeDownloadEnded: boolean | undefined;
  #consumed = new Set<string>();
  #servers: Server[] = [];
  #urls = { front: '', s3: '', cdn: '' };

  private constructor(
    private readonly emulator: Emulator,
    private readonly apiKey: string,
    private readonly objects: Objects,
  ) {}

  static async start(emulator: Emulator, apiKey: string, objects: Objects): Promise<ReadmeHarness> {
    const harness = new ReadmeHarness(emulator, apiKey, objects);
    const front = createServer((req, res) => void harness.#front(req, res));
    const s3 = fileServer(() => harness.objects.s3, true);
    const cdn = createServer((req, res) => void harness.#cdn(req, res));
    harness.#servers = [front, s3, cdn];
    harness.#urls = { front: await listen(front), s3: await listen(s3), cdn: await listen(cdn) };
    return harness;
  }

  /** The environment of a sample: the three OFAUTH_ variables, S3's, the CDN's, ffmpeg's shim on PATH. */
  env(cwd: string, overrides: Record<string, string> = {}): Record<string, string> {
    return {
      OFAUTH_API_KEY: this.apiKey,
      OFAUTH_CONNECTION_ID: 'conn_readme',
      OFAUTH_BASE_URL: this.#urls.front,
      AWS_ENDPOINT_URL_S3: this.#urls.s3,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'readme-test',
      AWS_SECRET_ACCESS_KEY: 'readme-test',
      // Hermetic: no ~/.aws files, no instance metadata, and no Node-version notice on stderr.
      AWS_CONFIG_FILE: join(cwd, '.no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(cwd, '.no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      README_CDN_URL: this.#urls.cdn,
      // Hermetic too: uploadFile's resume journals go under the sample's own directory.
      XDG_CACHE_HOME: join(cwd, '.cache'),
      PATH: `${README_BIN}${delimiter}${process.env.PATH ?? ''}`,
      // The ffmpeg shim runs the real binary and copies its stdout here.
      ...(REAL_FFMPEG.path === undefined ? {} : { README_FFMPEG: REAL_FFMPEG.path }),
      README_FFMPEG_TEE: join(cwd, FFMPEG_TEE),
      ...overrides,
    };
  }

  reset(): void {
    this.calls.length = 0;
    this.rejectPosts = false;
    this.cdnMode = 'chunked';
    this.initBeforeDownloadEnded = undefined;
    this.#consumed.clear();
  }

  async #cdn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/').slice(1);
    const file = this.objects.cdn[path];
    if (req.method !== 'GET' || file === undefined) return answer(res, 404, { error: `no ${path}` });
    // Kept alive: undici 7.30.2 crashes the client when a server closes the connection while the
    // client is not reading (nodejs/undici#5360, see test/known-issues/undici-paused-close.test.ts).
    const headers = { 'content-type': file.contentType };
    // A range request (uploadFromUrl's) is answered as a CDN does, whatever the mode.
    if (this.cdnMode !== 'gzip' && answerRange(req, res, file.body, { ...headers, etag: `"${createHash('md5').update(file.body).digest('hex')}"`, 'accept-ranges': 'bytes' })) return;
    if (this.cdnMode === 'gzip') {
      const encoded = gzipSync(file.body);
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': encoded.length });
      return void res.end(encoded);
    }
    if (this.cdnMode === 'chunked') {
      res.writeHead(200, headers);
      for (let at = 0; at < file.body.length; at += 256 * 1024) res.write(file.body.subarray(at, at + 256 * 1024));
      return void res.end();
    }
    res.writeHead(200, { ...headers, 'content-length': file.body.length });
    const half = Math.floor(file.body.length / 2);
    res.write(file.body.subarray(0, half));
    const seen = () => this.emulator.requests.some((r) => r.route === 'init');
    for (let waited = 0; !seen() && waited < 5000; waited += 20) await sleep(20);
    this.initBeforeDownloadEnded = seen();
    res.end(file.body.subarray(half));
  }

  async close(): Promise<void> {
    await Promise.all(this.#servers.map(close));
  }

  async #front(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/v2/access/uploads/')) return this.#pass(req, res);
    const route = path === '/v2/access/posts' ? 'post' : /^\/v2\/access\/chats\/[^/]+\/messages$/.test(path) ? 'message' : undefined;
    if (req.method !== 'POST' || route === undefined) return answer(res, 404, { error: 'not found' });
    const body = await readJson(req);
    const mediaItems = (body as { mediaItems?: unknown } | undefined)?.mediaItems;
    const status = this.#check(req, route, mediaItems);
    this.calls.push({ route, status, mediaItems });
    answer(res, status, status === 200 ? { id: this.calls.length } : { error: `refused (${status})` });
  }

  /** As the media items guide says: an upload reference works once, a vault media id again and again. */
  #check(req: IncomingMessage, route: FrontCall['route'], mediaItems: unknown): number {
    if (req.headers.apikey !== this.apiKey) return 401;
    if (String(req.headers['x-connection-id'] ?? '').trim() === '') return 403;
    if (route === 'post' && this.rejectPosts) return 400;
    if (!Array.isArray(mediaItems) || mediaItems.length === 0) return 400;
    const finalized = this.emulator.uploads().filter((u) => u.completed);
    for (const item of mediaItems) {
      if (typeof item === 'string' && item.startsWith('upload:')) {
        if (!finalized.some((u) => u.mediaUploadId === item) || this.#consumed.has(item)) return 400;
        this.#consumed.add(item);
      } else if (!finalized.some((u) => u.media?.id === String(item))) {
        return 400;
      }
    }
    return 200;
  }

  /** Through to the emulator, Host header and all, streaming both ways. */
  #pass(req: IncomingMessage, res: ServerResponse): void {
    const target = new URL(this.emulator.url);
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answerFromEmulator) => {
        res.writeHead(answerFromEmulator.statusCode ?? 502, answerFromEmulator.headers);
        answerFromEmulator.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('aborted', () => upstream.destroy());
    req.pipe(upstream);
  }
}
