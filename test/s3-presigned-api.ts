// A tiny OFAuth upload API whose storage is a real S3 implementation (s3rver): init opens a
// multipart upload in s3rver and answers presigned UploadPart URLs, so the client's part PUTs
// meet S3's own PUT semantics (ETag header, XML errors, expiry of presigned URLs) rather than
// the package's emulator. s3rver has no ListParts: a recording proxy in front of it, which the
// presigned URLs point at, tracks every part's answer (status, ETag) and the bytes it carried,
// and complete assembles the upload from what it saw.
//
// s3rver 3.7.1 checks the expiry of a SigV4 presigned URL but not its signature: the proxy
// recomputes every signature (with the same signer that made the URL) and answers 403
// SignatureDoesNotMatch, as S3 would, when the client changed anything that was signed.
import { type BinaryLike, createHash, createHmac } from 'node:crypto';
import { Agent, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
// A dependency of @aws-sdk/client-s3 (the signer its presigner uses); not one of this package's own.
import { SignatureV4 } from '@smithy/signature-v4';
import { startS3rverChild } from './cli/s3rver';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** node:crypto as the signer's hash (sha256, or HMAC-sha256 with a secret). */
class NodeSha256 {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBinary(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBinary(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

function toBinary(data: string | ArrayBuffer | ArrayBufferView): BinaryLike {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(new Uint8Array(data));
}

const signer = new SignatureV4({ service: 's3', region: REGION, credentials: CREDENTIALS, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });

const rfc3986 = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The query of a SigV4 presigned URL for `method host path?query`, as @aws-sdk/s3-request-presigner
 * makes it: the payload UNSIGNED-PAYLOAD, only `host` signed.
 */
async function presignedQuery(
  method: string,
  host: string,
  path: string,
  query: Record<string, string>,
  signingDate: Date,
  expiresIn: number,
): Promise<Record<string, string>> {
  const [hostname = '', port] = host.split(':');
  const signed = await signer.presign(
    {
      method,
      protocol: 'http:',
      hostname,
      ...(port === undefined ? {} : { port: Number(port) }),
      path,
      query,
      headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { signingDate, expiresIn, unsignableHeaders: new Set(['x-amz-content-sha256']), unhoistableHeaders: new Set(['x-amz-content-sha256']) },
  );
  return signed.query as Record<string, string>;
}

/** SigV4's X-Amz-Date, yyyyMMddTHHmmssZ. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : undefined;
}

/** One request that went through the proxy, and its answer. */
export interface ProxiedRequest {
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  /** The object key, decoded. */
  key: string;
  uploadId?: string;
  partNumber?: number;
  headers: IncomingHttpHeaders;
  /** 'absent': no presigned signature in the URL; 'invalid': answered 403 SignatureDoesNotMatch by the proxy. */
  signature: 'valid' | 'invalid' | 'absent';
  status: number;
  etag?: string;
  /** The client went away before the whole answer was relayed (it abandoned the request). */
  aborted: boolean;
  /** The answer's body (first 8 KiB): S3's XML error, if any. */
  answer: string;
  /** Request body bytes that reached the proxy, and their md5. */
  bytes: number;
  md5: string;
}

/** A part s3rver acknowledged (2xx), as the proxy saw it. */
export interface TrackedPart {
  etag: string;
  bytes: number;
  md5: string;
}

export interface S3Backend {
  /** The recording proxy: presigned URLs point here. */
  endpoint: string;
  bucket: string;
  /** Talks to s3rver directly, not through the proxy: the proxy sees the client's traffic only. */
  admin: S3Client;
  requests: ProxiedRequest[];
  /** Acknowledged parts of a multipart upload, by part number (the last acknowledgement wins). */
  parts(uploadId: string): ReadonlyMap<number, TrackedPart>;
  presign(method: 'PUT', key: string, query: Record<string, string>, options?: { signingDate?: Date; expiresIn?: number }): Promise<string>;
  objectSha256(key: string): Promise<{ sha256: string; size: number; contentType: string | undefined }>;
  close(): Promise<void>;
}

/** s3rver in a child process (test/fixtures/s3rver-child.mjs), a bucket, and the recording proxy. */
export async function startS3Backend(bucket = 'vault'): Promise<S3Backend> {
  const { child, port: s3Port } = await startS3rverChild();
  const requests: ProxiedRequest[] = [];
  // Its own pool, closed with the rest: s3rver's close would wait for idle keep-alive sockets.
  const agent = new Agent({ keepAlive: true });
  const tracked = new Map<string, Map<number, TrackedPart>>();

  async function verify(req: IncomingMessage, query: URLSearchParams, path: string): Promise<ProxiedRequest['signature']> {
    const provided = query.get('X-Amz-Signature');
    if (provided === null) return 'absent';
    const received = Object.fromEntries(query);
    const signingDate = parseAmzDate(received['X-Amz-Date'] ?? '');
    const expiresIn = Number(received['X-Amz-Expires']);
    if (signingDate === undefined || !Number.isInteger(expiresIn)) return 'invalid';
    const unsigned = Object.fromEntries(Object.entries(received).filter(([name]) => !name.startsWith('X-Amz-')));
    const expected = await presignedQuery(req.method ?? '', req.headers.host ?? '', path, unsigned, signingDate, expiresIn);
    const same = Object.keys(expected).length === Object.keys(received).length && Object.entries(expected).every(([name, value]) => received[name] === value);
    return same ? 'valid' : 'invalid';
  }

  const proxy = createServer((req, res) => void relay(req, res));
  async function relay(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const [rawPath = '/', rawQuery = ''] = url.split('?', 2) as [string, string?];
    const query = new URLSearchParams(rawQuery);
    const segments = rawPath.split('/').slice(2).map(decodeURIComponent);
    const partNumber = query.get('partNumber');
    const record: ProxiedRequest = {
      method: req.method ?? '',
      url,
      key: segments.join('/'),
      ...(query.get('uploadId') === null ? {} : { uploadId: query.get('uploadId')! }),
      ...(partNumber === null ? {} : { partNumber: Number(partNumber) }),
      headers: { ...req.headers },
      signature: 'absent',
      status: 0,
      aborted: false,
      answer: '',
      bytes: 0,
      md5: '',
    };
    requests.push(record);
    const md5 = createHash('md5');
    req.on('data', (chunk: Buffer) => {
      record.bytes += chunk.length;
      md5.update(chunk);
    });
    req.pause();
    record.signature = await verify(req, query, rawPath).catch(() => 'invalid' as const);
    if (record.signature === 'invalid') {
      // S3 checks the signature before taking the body.
      record.status = 403;
      record.answer =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>';
      req.resume();
      req.once('end', () => (record.md5 = md5.copy().digest('hex')));
      res.writeHead(403, { 'content-type': 'application/xml', connection: 'close' }).end(record.answer);
      return;
    }
    const upstream = httpRequest({ host: '127.0.0.1', port: s3Port, method: req.method, path: url, headers: req.headers, agent }, (answer) => {
      record.status = answer.statusCode ?? 502;
      const etag = answer.headers.etag;
      if (typeof etag === 'string') record.etag = etag;
      res.writeHead(record.status, answer.headers);
      answer.on('data', (chunk: Buffer) => {
        if (record.answer.length < 8192) record.answer += chunk.toString('utf8');
        res.write(chunk);
      });
      answer.on('end', () => {
        record.md5 = md5.copy().digest('hex');
        // Tracked before the client hears the answer, so a complete that follows finds the part.
        if (record.method === 'PUT' && record.uploadId !== undefined && record.partNumber !== undefined && record.status < 300 && record.etag !== undefined) {
          const parts = tracked.get(record.uploadId) ?? new Map<number, TrackedPart>();
          parts.set(record.partNumber, { etag: record.etag, bytes: record.bytes, md5: record.md5 });
          tracked.set(record.uploadId, parts);
        }
        res.end();
      });
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.destroy();
    });
    req.on('error', () => upstream.destroy());
    // The client gave up (another part failed, the upload was aborted): so does the upstream request.
    res.on('close', () => {
      if (res.writableFinished) return;
      record.aborted = true;
      upstream.destroy();
    });
    req.pipe(upstream);
    req.resume();
  }
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyHost = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  const admin = new S3Client({
    endpoint: `http://127.0.0.1:${s3Port}`,
    forcePathStyle: true,
    region: REGION,
    credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));

  const keyPath = (key: string) => `/${bucket}/${key.split('/').map(rfc3986).join('/')}`;
  return {
    endpoint: `http://${proxyHost}`,
    bucket,
    admin,
    requests,
    parts: (uploadId) => tracked.get(uploadId) ?? new Map(),
    presign: async (method, key, query, options = {}) => {
      const path = keyPath(key);
      const signed = await presignedQuery(method, proxyHost, path, query, options.signingDate ?? new Date(), options.expiresIn ?? 900);
      const search = Object.entries(signed)
        .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
        .join('&');
      return `http://${proxyHost}${path}?${search}`;
    },
    objectSha256: async (key) => {
      const object = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
      return { sha256: createHash('sha256').update(body).digest('hex'), size: body.length, contentType: object.ContentType };
    },
    close: async () => {
      admin.destroy();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      agent.destroy();
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
    },
  };
}

/** How the API answers an upload of at most one part. */
export type OnePartPlan =
  /** A multipart plan of one part (a presigned UploadPart URL), then complete. */
  | 'multipart'
  /** A single plan whose part is a presigned PutObject URL: S3 stores it, complete finalizes. */
  | 'single-presigned'
  /** A single plan whose part is the API's own `PUT /v2/access/uploads/{id}`: it stores and finalizes. */
  | 'single-api';

export interface PresignedApiOptions {
  apiKey: string;
  connectionId: string;
  partSize: number;
  /** Default 'multipart'. */
  onePart?: OnePartPlan;
  /**
   * The first init's presigned URLs are already expired when used: signed an hour ago for 60 s.
   * The plan's own expiresAt stays an hour ahead (the API thinks its session alive), so it is
   * the storage's 403 the client meets, not its own clock. Later inits are normal.
   */
  expireFirstSession?: boolean;
}

export interface ApiSession {
  mediaUploadId: string;
  key: string;
  plan: OnePartPlan;
  uploadId?: string;
  size: number;
  contentType: string;
  ranges: Array<{ start: number; end: number }>;
  expiredUrls: boolean;
  completed: boolean;
  mediaId: string;
}

export interface PresignedApi {
  url: string;
  sessions: ApiSession[];
  /** Every request to the API: route and the status answered. */
  calls: Array<{ route: 'init' | 'single' | 'complete' | 'other'; status: number }>;
  session(mediaUploadId: string): ApiSession | undefined;
  completed(): string[];
  /** The stored object of a session, read back from s3rver. */
  stored(mediaUploadId: string): Promise<{ sha256: string; size: number; contentType: string | undefined }>;
  /** The proxy's records of requests for this session's object. */
  storageRequests(mediaUploadId: string): ProxiedRequest[];
  close(): Promise<void>;
}

let apiCounter = 0;

/** The OFAuth upload API on 127.0.0.1, storing into `backend`'s bucket. */
export async function startPresignedApi(backend: S3Backend, options: PresignedApiOptions): Promise<PresignedApi> {
  const { apiKey, connectionId, partSize, onePart = 'multipart', expireFirstSession = false } = options;
  const prefix = `api${++apiCounter}`;
  const sessions: ApiSession[] = [];
  const calls: PresignedApi['calls'] = [];
  let base = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return status;
  };
  const readBody = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const media = (session: ApiSession) => ({
    mediaUploadId: session.mediaUploadId,
    media: { id: session.mediaId, type: 'video', isReady: true, hasError: false, createdAt: new Date().toISOString() },
  });

  async function init(req: IncomingMessage, res: ServerResponse): Promise<number> {
    let body: { filename?: unknown; size?: unknown; contentType?: unknown };
    try {
      body = JSON.parse((await readBody(req)).toString('utf8')) as typeof body;
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
    const { filename, size, contentType } = body;
    if (typeof filename !== 'string' || filename === '' || typeof contentType !== 'string' || contentType === '' || !Number.isSafeInteger(size) || (size as number) <= 0) {
      return json(res, 400, { error: 'filename, size and contentType are required' });
    }
    const n = sessions.length + 1;
    const key = `${prefix}/${n}/${filename}`;
    const mediaUploadId = `upload:${prefix}-${n}`;
    const total = Math.ceil((size as number) / partSize);
    const plan: OnePartPlan = total === 1 ? onePart : 'multipart';
    const ranges = Array.from({ length: total }, (_, i) => ({ start: i * partSize, end: Math.min((i + 1) * partSize, size as number) - 1 }));
    const expiredUrls = expireFirstSession && n === 1;
    const signing = expiredUrls ? { signingDate: new Date(Date.now() - 3_600_000), expiresIn: 60 } : { expiresIn: 900 };
    let uploadId: string | undefined;
    let urls: string[];
    if (plan === 'multipart') {
      const created = await backend.admin.send(new CreateMultipartUploadCommand({ Bucket: backend.bucket, Key: key, ContentType: contentType }));
      uploadId = created.UploadId!;
      const id = uploadId;
      urls = await Promise.all(ranges.map((_, i) => backend.presign('PUT', key, { partNumber: String(i + 1), uploadId: id, 'x-id': 'UploadPart' }, signing)));
    } else if (plan === 'single-presigned') {
      urls = [await backend.presign('PUT', key, { 'x-id': 'PutObject' }, signing)];
    } else {
      urls = [`${base}/v2/access/uploads/${encodeURIComponent(mediaUploadId)}`];
    }
    const session: ApiSession = { mediaUploadId, key, plan, ...(uploadId === undefined ? {} : { uploadId }), size: size as number, contentType, ranges, expiredUrls, completed: false, mediaId: `media_${prefix}_${n}` };
    sessions.push(session);
    return json(res, 200, {
      mediaUploadId,
      uploadType: plan === 'multipart' ? 'multipart' : 'single',
      totalParts: total,
      partSize,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      parts: ranges.map((byteRange, i) => ({ partNumber: i + 1, uploadUrl: urls[i], byteRange })),
      completeUrl: `${base}/v2/access/uploads/complete`,
    });
  }

  /** The single-part endpoint: stores the whole body and finalizes. */
  async function single(req: IncomingMessage, res: ServerResponse, session: ApiSession | undefined): Promise<number> {
    const body = await readBody(req);
    if (session === undefined) return json(res, 404, { error: 'unknown upload' });
    if (session.plan !== 'single-api') return json(res, 400, { error: 'this upload is not a single upload to the API' });
    if (body.length !== session.size) return json(res, 400, { error: `expected ${session.size} bytes, got ${body.length}` });
    await backend.admin.send(new PutObjectCommand({ Bucket: backend.bucket, Key: session.key, Body: body, ContentType: session.contentType }));
    session.completed = true;
    return json(res, 200, media(session));
  }

  async function complete(req: IncomingMessage, res: ServerResponse): Promise<number> {
    let mediaUploadId: unknown;
    try {
      ({ mediaUploadId } = JSON.parse((await readBody(req)).toString('utf8')) as { mediaUploadId?: unknown });
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
    const session = sessions.find((s) => s.mediaUploadId === mediaUploadId);
    if (session === undefined) return json(res, 404, { error: 'unknown upload' });
    if (session.completed) return json(res, 200, media(session));
    if (session.plan === 'single-presigned') {
      const head = await backend.admin.send(new HeadObjectCommand({ Bucket: backend.bucket, Key: session.key })).catch(() => undefined);
      if (head?.ContentLength !== session.size) return json(res, 400, { error: 'the object is not stored, or not whole' });
    } else if (session.plan === 'multipart') {
      const parts = backend.parts(session.uploadId!);
      const missing: number[] = [];
      for (const [i, range] of session.ranges.entries()) {
        const part = parts.get(i + 1);
        // S3's ETag of a part is the md5 of its bytes: what s3rver stored is what went through.
        if (part === undefined || part.bytes !== range.end - range.start + 1 || part.etag.replace(/"/g, '') !== part.md5) missing.push(i + 1);
      }
      if (missing.length > 0) return json(res, 400, { error: `parts missing or short: ${missing.join(', ')}` });
      await backend.admin.send(
        new CompleteMultipartUploadCommand({
          Bucket: backend.bucket,
          Key: session.key,
          UploadId: session.uploadId,
          MultipartUpload: { Parts: session.ranges.map((_, i) => ({ PartNumber: i + 1, ETag: parts.get(i + 1)!.etag })) },
        }),
      );
    } else {
      return json(res, 400, { error: 'a single upload to the API finalizes by itself' });
    }
    session.completed = true;
    return json(res, 200, media(session));
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const singleMatch = /^\/v2\/access\/uploads\/([^/]+)$/.exec(path);
    const route: PresignedApi['calls'][number]['route'] =
      req.method === 'POST' && path === '/v2/access/uploads/init'
        ? 'init'
        : req.method === 'POST' && path === '/v2/access/uploads/complete'
          ? 'complete'
          : req.method === 'PUT' && singleMatch !== null
            ? 'single'
            : 'other';
    const handle = async (): Promise<number> => {
      if (req.headers.apikey !== apiKey || req.headers['x-connection-id'] !== connectionId) {
        req.resume();
        return json(res, 401, { error: 'unauthorized' });
      }
      if (route === 'init') return init(req, res);
      if (route === 'complete') return complete(req, res);
      if (route === 'single') return single(req, res, sessions.find((s) => s.mediaUploadId === decodeURIComponent(singleMatch![1]!)));
      req.resume();
      return json(res, 404, { error: 'no such route' });
    };
    handle().then(
      (status) => calls.push({ route, status }),
      (error: unknown) => {
        calls.push({ route, status: 500 });
        if (!res.headersSent) json(res, 500, { error: String(error) });
        else res.destroy();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const find = (mediaUploadId: string) => sessions.find((s) => s.mediaUploadId === mediaUploadId);
  return {
    url: base,
    sessions,
    calls,
    session: find,
    completed: () => sessions.filter((s) => s.completed).map((s) => s.mediaUploadId),
    stored: async (mediaUploadId) => {
      const session = find(mediaUploadId);
      if (session === undefined) throw new Error(`no session ${mediaUploadId}`);
      return backend.objectSha256(session.key);
    },
    storageRequests: (mediaUploadId) => {
      const key = find(mediaUploadId)?.key;
      return backend.requests.filter((r) => r.key === key);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
