#!/usr/bin/env node
// The benchmark sink: an HTTP/1.1 server, in its own process on 127.0.0.1, that drains request
// bodies as fast as it can and stores nothing. It is a minimal parser over `node:net` rather
// than `node:http`: a body is counted straight off the socket's chunks, with no IncomingMessage
// stream per request, which roughly halves the sink's CPU per GiB (it shares two cores with
// the client under test, so every cycle it saves is one the client can use).
//
// It speaks
//   - the OFAuth upload protocol (init → plan, part PUTs, complete); the plan is cut by the
//     emulator's `partRanges`, its part size read from the init `filename` (`…-<bytes>.<ext>`),
//     else `--part-size`;
//   - enough of the S3 multipart REST API for @aws-sdk/lib-storage (`POST ?uploads`,
//     `PUT ?partNumber&uploadId`, `POST ?uploadId`, PutObject, `DELETE ?uploadId`), answering
//     `Expect: 100-continue`; the declared size is the `x-amz-meta-bench-size` header of the
//     create call;
//   - `PUT /raw/<name>`: one body of `x-bench-size` bytes (the ceiling row);
//   - `GET /_ping`, `PUT /_warm` (warm-up), `GET /_stats`.
// With `--tls-key`/`--tls-cert` (PEM files) it also serves HTTPS on two more ports, for the link
// benchmarks: there, every body byte is also compared with the benchmark source's pattern at its
// offset in the upload (so a retried part must carry the right bytes, not only the right
// count), and the second port tolerates bodies cut short (the link cuts connections on purpose:
// the retry must then deliver the part; a short body is counted in `cutBodies`, not a failure).
// Byte accounting: each part must be exactly its range, each upload exactly its declared size,
// and a body must not end before its Content-Length. Anything else is answered 400 and recorded
// in `failures`: the orchestrator turns a non-empty list into a failed run, not a number.
//
// Usage: node benchmarks/sink.mjs [--port 0] [--part-size 8388608] [--tls-key key.pem --tls-cert cert.pem]
// Prints `{"url":"http://127.0.0.1:PORT"}` on one line when listening (with TLS also `tlsUrl` and
// `tlsCutsUrl`), and sends it over IPC when forked.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { parseArgs } from 'node:util';
import { loadEmulator } from './lib/dist.mjs';
import { matchesSource } from './lib/source.mjs';

const { partRanges } = await loadEmulator();

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'part-size': { type: 'string', default: String(8 * 1024 * 1024) },
    'tls-key': { type: 'string' },
    'tls-cert': { type: 'string' },
  },
});
const defaultPartSize = Number(args['part-size']);
const MAX_HEAD = 64 * 1024;
const MAX_COLLECT = 1024 * 1024;

const stats = {
  connections: 0,
  requests: 0,
  bytes: 0,
  /** Uploads (any protocol) that delivered exactly their declared bytes. */
  verified: 0,
  verifiedBytes: 0,
  /** Every byte-accounting violation. */
  failures: /** @type {string[]} */ ([]),
  /** TLS connections accepted (both TLS ports). */
  tlsConnections: 0,
  /** Bodies cut short on the port that tolerates it (the link cut the connection). */
  cutBodies: 0,
  /** Body bytes compared with the source pattern (TLS ports). */
  checkedBytes: 0,
};

/** @type {Map<string, { size: number, ranges: {start: number, end: number}[], got: Uint8Array, partBytes: number }>} */
const ours = new Map();
/** @type {Map<string, { size: number, partSize: number, parts: Map<number, number> }>} */
const s3 = new Map();
let nextId = 1;

/** @param {string} why */
function failure(why) {
  if (stats.failures.length < 1000) stats.failures.push(why);
}

/**
 * @typedef {{ method: string, path: string, query: URLSearchParams, headers: Record<string, string>, length: number, host: string, scheme: string }} Req
 * @typedef {{ status: number, body?: string, type?: string, headers?: Record<string, string> }} Res
 * @typedef {{ collect: boolean, done: (text: string) => Res, at?: number }} Route
 *   `at`: where the body sits in the upload's bytes (for the content check), when it is upload data
 */

const json = (status, body) => ({ status, body: JSON.stringify(body), type: 'application/json' });
const xml = (body) => ({ status: 200, body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`, type: 'application/xml' });
const REASONS = { 100: 'Continue', 200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 411: 'Length Required', 501: 'Not Implemented' };

// ── OFAuth protocol ────────────────────────────────────────────────────────────────────────

/** @param {Req} req @returns {Route} */
function init(req) {
  return {
    collect: true,
    done(text) {
      if (!req.headers.apikey || !req.headers['x-connection-id']) return json(401, { error: 'missing apiKey / x-connection-id' });
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        return json(400, { error: 'init body is not JSON' });
      }
      const { filename, size, contentType } = body ?? {};
      if (typeof filename !== 'string' || !Number.isSafeInteger(size) || size <= 0 || typeof contentType !== 'string') {
        return json(400, { error: 'init needs filename, size > 0, contentType' });
      }
      const m = /-(\d+)\.[a-z0-9]+$/i.exec(filename);
      const partSize = m ? Number(m[1]) : defaultPartSize;
      const ranges = partRanges(size, partSize);
      const mediaUploadId = `upload:bench-${nextId++}`;
      ours.set(mediaUploadId, { size, ranges, got: new Uint8Array(ranges.length), partBytes: 0 });
      const base = `${req.scheme}://${req.host}/v2/access/uploads`;
      return json(200, {
        mediaUploadId,
        uploadType: 'multipart',
        totalParts: ranges.length,
        partSize,
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        parts: ranges.map((r, i) => ({
          partNumber: i + 1,
          uploadUrl: `${base}/${encodeURIComponent(mediaUploadId)}/parts/${i + 1}`,
          byteRange: { start: r.start, end: r.end },
        })),
        completeUrl: `${base}/complete`,
      });
    },
  };
}

/** @param {Req} req @returns {Route} */
function part(req, mediaUploadId, partNumber) {
  return {
    collect: false,
    at: ours.get(mediaUploadId)?.ranges[partNumber - 1]?.start,
    done() {
      const session = ours.get(mediaUploadId);
      const range = session?.ranges[partNumber - 1];
      if (session === undefined || range === undefined) {
        failure(`part ${partNumber} of unknown upload ${mediaUploadId}`);
        return json(404, { error: 'no such upload or part' });
      }
      const length = range.end - range.start + 1;
      if (req.length !== length) {
        failure(`${mediaUploadId} part ${partNumber}: ${req.length} bytes, its range is ${length}`);
        return json(400, { error: `part ${partNumber} must be ${length} bytes, got ${req.length}` });
      }
      if (session.got[partNumber - 1] === 0) {
        session.got[partNumber - 1] = 1;
        session.partBytes += length;
      }
      return json(200, { mediaUploadId, partNumber, etag: `"bench-${partNumber}"` });
    },
  };
}

/** @returns {Route} */
function complete() {
  return {
    collect: true,
    done(text) {
      let id;
      try {
        id = JSON.parse(text).mediaUploadId;
      } catch {
        /* handled below */
      }
      const session = typeof id === 'string' ? ours.get(id) : undefined;
      if (session === undefined) {
        failure(`complete of unknown upload ${String(id)}`);
        return json(404, { error: 'no such upload' });
      }
      const missing = session.got.indexOf(0);
      if (missing !== -1 || session.partBytes !== session.size) {
        failure(`${id}: complete with ${session.partBytes} of ${session.size} bytes (part ${missing + 1} missing)`);
        return json(400, { error: 'upload incomplete' });
      }
      ours.delete(id);
      stats.verified++;
      stats.verifiedBytes += session.size;
      const media = { id: `media-${id.slice(7)}`, type: 'video', isReady: true, hasError: false, createdAt: new Date().toISOString() };
      return json(200, { mediaUploadId: id, media });
    },
  };
}

// ── S3 (lib-storage) ───────────────────────────────────────────────────────────────────────

/** @param {Req} req @returns {Route} */
function s3Route(req) {
  const { method, query } = req;
  const key = req.path.slice(1);
  const [bucket, ...rest] = key.split('/');
  const uploadId = query.get('uploadId');
  if (method === 'POST' && query.has('uploads')) {
    return {
      collect: true,
      done() {
        const size = Number(req.headers['x-amz-meta-bench-size']);
        if (!Number.isSafeInteger(size) || size <= 0) return json(400, { error: 'x-amz-meta-bench-size (the declared size) is required' });
        const id = `s3-${nextId++}`;
        // Optional: the client's part size, so a part's bytes can be checked at their offset.
        const partSize = Number(req.headers['x-amz-meta-bench-part-size'] ?? Number.NaN);
        s3.set(id, { size, partSize, parts: new Map() });
        return xml(`<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${bucket}</Bucket><Key>${rest.join('/')}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      },
    };
  }
  if (method === 'PUT' && uploadId !== null && query.has('partNumber')) {
    const partNumber = Number(query.get('partNumber'));
    const partSize = s3.get(uploadId)?.partSize;
    return {
      collect: false,
      at: partSize !== undefined && Number.isSafeInteger(partSize) ? (partNumber - 1) * partSize : undefined,
      done() {
        const session = s3.get(uploadId);
        if (session === undefined) {
          failure(`s3 part ${partNumber} of unknown upload ${uploadId}`);
          return json(404, { error: 'NoSuchUpload' });
        }
        session.parts.set(partNumber, req.length);
        return { status: 200, headers: { etag: `"bench-${partNumber}"` } };
      },
    };
  }
  if (method === 'POST' && uploadId !== null) {
    return {
      collect: true,
      done(text) {
        const session = s3.get(uploadId);
        const listed = [...text.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
        let total = 0;
        for (const n of listed) total += session?.parts.get(n) ?? Number.NaN;
        if (session === undefined || total !== session.size || listed.length !== session.parts.size) {
          failure(`s3 ${uploadId}: complete lists ${listed.length} parts, ${total} bytes, declared ${session?.size}`);
          return json(400, { error: 'incomplete' });
        }
        s3.delete(uploadId);
        stats.verified++;
        stats.verifiedBytes += total;
        return xml(`<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>${req.scheme}://${req.host}/${key}</Location><Bucket>${bucket}</Bucket><Key>${rest.join('/')}</Key><ETag>"bench-${uploadId}"</ETag></CompleteMultipartUploadResult>`);
      },
    };
  }
  if (method === 'PUT' && uploadId === null) {
    // PutObject: lib-storage sends a body smaller than one part this way.
    return {
      collect: false,
      at: 0,
      done() {
        const declared = Number(req.headers['x-amz-meta-bench-size']);
        if (Number.isSafeInteger(declared) && req.length !== declared) {
          failure(`s3 PutObject ${key}: ${req.length} bytes, declared ${declared}`);
          return json(400, { error: 'bad body' });
        }
        stats.verified++;
        stats.verifiedBytes += req.length;
        return { status: 200, headers: { etag: '"bench-object"' } };
      },
    };
  }
  if (method === 'DELETE' && uploadId !== null) {
    // AbortMultipartUpload: lib-storage sends it when an upload failed. A failure here.
    return {
      collect: true,
      done() {
        failure(`s3 ${uploadId}: aborted by the client`);
        s3.delete(uploadId);
        return { status: 204 };
      },
    };
  }
  return { collect: true, done: () => json(400, { error: `unsupported S3 call ${method} ${req.path}?${query}` }) };
}

// ── routing ────────────────────────────────────────────────────────────────────────────────

/** @param {Req} req @returns {Route} */
function route(req) {
  const { method, path } = req;
  let m;
  if (method === 'PUT' && (m = /^\/v2\/access\/uploads\/([^/]+)\/parts\/(\d+)$/.exec(path))) {
    return part(req, decodeURIComponent(m[1]), Number(m[2]));
  }
  if (method === 'POST' && path === '/v2/access/uploads/init') return init(req);
  if (method === 'POST' && path === '/v2/access/uploads/complete') return complete();
  if (method === 'PUT' && path.startsWith('/raw/')) {
    return {
      collect: false,
      at: 0,
      done() {
        const declared = Number(req.headers['x-bench-size'] ?? req.length);
        if (req.length !== declared) {
          failure(`raw ${path}: ${req.length} bytes, declared ${declared}`);
          return json(400, { error: 'wrong size', received: req.length, declared });
        }
        stats.verified++;
        stats.verifiedBytes += req.length;
        return json(200, { received: req.length });
      },
    };
  }
  if (method === 'GET' && path === '/_ping') return { collect: false, done: () => json(200, { ok: true }) };
  if (method === 'PUT' && path === '/_warm') return { collect: false, done: () => json(200, { received: req.length }) };
  if (method === 'GET' && path === '/_stats') {
    return {
      collect: false,
      done() {
        const cpu = process.cpuUsage();
        return json(200, { ...stats, openUploads: ours.size + s3.size, cpuS: (cpu.user + cpu.system) / 1e6 });
      },
    };
  }
  if (path.startsWith('/bench/')) return s3Route(req);
  return { collect: true, done: () => json(404, { error: `no route ${method} ${path}` }) };
}

// ── HTTP/1.1, just enough ──────────────────────────────────────────────────────────────────

/**
 * @param {import('node:net').Socket} socket
 * @param {Res} res
 * @param {boolean} close
 */
function respond(socket, res, close) {
  const body = res.body ?? '';
  let head = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? 'Status'}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  if (res.type) head += `content-type: ${res.type}\r\n`;
  for (const [k, v] of Object.entries(res.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (close) head += 'connection: close\r\n';
  socket.write(`${head}\r\n${body}`);
  if (close) socket.end();
}

/**
 * @param {string} text
 * @param {string} host
 * @param {string} scheme
 * @returns {Req | string}
 */
function parseHead(text, host, scheme) {
  const lines = text.split('\r\n');
  const [method, target, version] = lines[0].split(' ');
  if (!method || !target || !version?.startsWith('HTTP/1.')) return 'bad request line';
  /** @type {Record<string, string>} */
  const headers = {};
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon <= 0) return 'bad header line';
    headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
  }
  if (headers['transfer-encoding'] !== undefined) return 'chunked bodies are not supported: send Content-Length';
  const length = headers['content-length'] === undefined ? 0 : Number(headers['content-length']);
  if (!Number.isSafeInteger(length) || length < 0) return 'bad Content-Length';
  const q = target.indexOf('?');
  return {
    method,
    path: q === -1 ? target : target.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)),
    headers,
    length,
    host: headers.host ?? host,
    scheme,
  };
}

/**
 * One connection, plain or TLS.
 * @param {import('node:net').Socket} socket
 * @param {{ host: string, scheme: string, check: boolean, cutsAllowed: boolean }} mode
 *   check: compare body bytes with the source pattern; cutsAllowed: a short body is not a failure
 */
function serve(socket, mode) {
  stats.connections++;
  socket.setNoDelay(true);
  const { host, scheme } = mode;
  /** @type {Buffer | undefined} */
  let head; // bytes of an unfinished request head
  /** @type {Req | undefined} */
  let req; // the request whose body is being read
  /** @type {Route | undefined} */
  let handler;
  /** @type {Buffer[]} */
  let collected = [];
  let collectedBytes = 0;
  let remaining = 0;
  let wrongBytes = false;

  const finish = () => {
    const close = req.headers.connection?.toLowerCase() === 'close';
    const text = handler.collect ? Buffer.concat(collected).toString('utf8') : '';
    if (wrongBytes) respond(socket, json(400, { error: 'body bytes differ from the source' }), close);
    else respond(socket, handler.done(text), close);
    req = undefined;
    handler = undefined;
    collected = [];
    collectedBytes = 0;
    wrongBytes = false;
  };

  socket.on('data', (chunk) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (req !== undefined) {
        // Body bytes: counted, never kept (except small control bodies).
        const n = Math.min(remaining, chunk.length - offset);
        if (handler.collect && collectedBytes < MAX_COLLECT) {
          collected.push(chunk.subarray(offset, offset + n));
          collectedBytes += n;
        }
        if (mode.check && handler.at !== undefined && !wrongBytes) {
          const at = handler.at + req.length - remaining;
          stats.checkedBytes += n;
          if (!matchesSource(chunk.subarray(offset, offset + n), at)) {
            wrongBytes = true;
            failure(`${req.method} ${req.path}: body bytes at upload offset ${at} differ from the source`);
          }
        }
        stats.bytes += n;
        remaining -= n;
        offset += n;
        if (remaining === 0) finish();
        continue;
      }
      const buf = head === undefined ? chunk.subarray(offset) : Buffer.concat([head, chunk.subarray(offset)]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buf.length > MAX_HEAD) {
          respond(socket, json(400, { error: 'request head too large' }), true);
          return;
        }
        head = Buffer.from(buf); // own copy: the chunk is not ours to keep
        return;
      }
      const consumedBefore = head === undefined ? 0 : head.length;
      head = undefined;
      const parsed = parseHead(buf.toString('latin1', 0, end), host, scheme);
      if (typeof parsed === 'string') {
        respond(socket, json(400, { error: parsed }), true);
        return;
      }
      stats.requests++;
      req = parsed;
      handler = route(req);
      remaining = req.length;
      offset += end + 4 - consumedBefore;
      if (req.headers.expect?.toLowerCase() === '100-continue') socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      if (remaining === 0) finish();
    }
  });
  socket.on('close', () => {
    if (req === undefined) return;
    if (mode.cutsAllowed) stats.cutBodies++;
    else failure(`${req.method} ${req.path}: connection closed after ${req.length - remaining} of ${req.length} body bytes`);
  });
  socket.on('error', () => {
    /* 'close' follows and records a short body */
  });
}

/** @param {import('node:net').Server} srv @returns {Promise<number>} */
function listen(srv, port) {
  return new Promise((resolve) => {
    srv.listen(port, '127.0.0.1', () => resolve(/** @type {import('node:net').AddressInfo} */ (srv.address()).port));
  });
}

const plainPort = await listen(
  createServer((socket) => serve(socket, { host: `127.0.0.1:${plainPort}`, scheme: 'http', check: false, cutsAllowed: false })),
  Number(args.port),
);
/** @type {{ url: string, pid: number, tlsUrl?: string, tlsCutsUrl?: string }} */
const ready = { url: `http://127.0.0.1:${plainPort}`, pid: process.pid };
if (args['tls-key'] !== undefined && args['tls-cert'] !== undefined) {
  const tlsOptions = { key: readFileSync(args['tls-key']), cert: readFileSync(args['tls-cert']) };
  /** @param {boolean} cutsAllowed */
  const tlsServer = async (cutsAllowed) => {
    let port = 0;
    const srv = createTlsServer(tlsOptions, (socket) => {
      stats.tlsConnections++;
      serve(socket, { host: `127.0.0.1:${port}`, scheme: 'https', check: true, cutsAllowed });
    });
    // A handshake the link cut short is not the sink's failure.
    srv.on('tlsClientError', () => {});
    port = await listen(srv, 0);
    return `https://127.0.0.1:${port}`;
  };
  ready.tlsUrl = await tlsServer(false);
  ready.tlsCutsUrl = await tlsServer(true);
}
process.stdout.write(`${JSON.stringify(ready)}\n`);
process.send?.(ready);
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
