#!/usr/bin/env node
// Does HTTP/2 to the API origin pay for itself when OFAuth's rate limiter refuses part PUTs (issue 21)?
//
//   node benchmarks/h2-refusals.mjs [--sizes 1MiB,5MiB] [--modes h1,h2,h2-expect] [--parts 200]
//        [--concurrency 4] [--rate 10] [--burst 5] [--retry-ms 50] [--chunk 64KiB]
//        [--h2-window N] [--h2-conn-window N] [--h2-refusal no_error|cancel|refused]
//        [--h1-refusal unread|drain] [--connections N] [--client-h2-session-memory MB] [--stall-s 10]
//        [--tag NAME] [--out benchmarks/results/h2-refusals.json]
//
// --client-h2-session-memory is a workaround, not an undici option: undici's http2.connect() call
// (lib/dispatcher/client-h2.js, connectH2) passes no maxSessionMemory, so Node's default of 10 MB
// applies to the client session; this wraps node:http2's connect() in the client process to raise
// it. Without it, refused streams with a large server window (--h2-window 1MiB, 5 MiB parts) exhaust
// that budget and every later stream on the session is reset with NGHTTP2_ENHANCE_YOUR_CALM; the
// row then stalls and is recorded as such (--stall-s: seconds without a part accepted).
//
// Self-contained: no dist/, no emulator. Each (mode, size) row runs a fresh server process and a
// fresh client process, so process.cpuUsage() in the client is the client's alone.
//
// Server (TLS on 127.0.0.1, certificate from `selfsigned`): `PUT /part/N` behind one token bucket
// (--rate per s, --burst), keyed by x-connection-id like OFAuth's limiter, so every TCP connection
// of the client drains the same bucket and a reconnect does not refill it. A token is taken when
// the request headers arrive.
//   - refused → 429 at once, the body not read:
//       h1 (node:https): the answer is written straight onto the socket (connection: close) and the
//         request paused, as the emulator's answerUnread() does; the socket stays open, unread, until
//         undici resets it (it destroys a connection whose answer completes while it is still writing
//         the body). --h1-refusal drain instead ends a normal 429 and reads (and counts) the body
//         until that reset, as a gateway doing a lingering close would.
//       h2 (node:http2 createSecureServer({ allowHTTP1: true }), 'stream' API): respond 429 with its
//         body, then stream.close(NGHTTP2_NO_ERROR): RST_STREAM(NO_ERROR) after a complete response,
//         which RFC 9113 §8.1 names as the way to tell a client to stop sending a request body.
//         Node defers that RST until the 429 is written, so the client always reads the answer.
//   - with `expect: 100-continue` (h2 + expectContinue) the decision is made on the headers: an
//     accepted request gets a 100 (stream.additionalHeaders), a refused one the 429 without a 100.
//   - accepted → read the whole body, count it, answer 200.
// Counted on the server: requests, refusals, body bytes read for accepted / refused requests, TLS
// handshakes ('secureConnection', and how many resumed a session), the HTTP version of every
// request, expect headers seen and 100s sent, and the TLS bytes read off every socket.
//
// Client: undici request() through an Agent ({ allowH2: true } for the h2 modes), N parts at the
// given concurrency, deliberately unpaced: a 429 (or a failed request) is retried after a fixed
// --retry-ms. Bodies are async iterables of --chunk slices with a 4 KiB tail, as the library's
// part bodies are (lib/parts/part-body.ts; it uses 1 MiB slices, 64 KiB here so the client's
// count of bytes handed to the socket is fine-grained).
// Client view of bytes into refusals: undici's 'undici:request:bodyChunkSent' channel summed per
// request with a 429: the bytes undici handed to the socket (h1) or to the HTTP/2 stream (h2), at
// most one chunk more than what reached the kernel. Also the TLS bytes written by every socket.
import { fork } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const require = createRequire(join(root, 'package.json'));
const MiB = 1024 * 1024;
const TAIL_BYTES = 4 * 1024;

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    config: { type: 'string' },
    modes: { type: 'string', default: 'h1,h2,h2-expect' },
    sizes: { type: 'string', default: '1MiB,5MiB' },
    parts: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '4' },
    rate: { type: 'string', default: '10' },
    burst: { type: 'string', default: '5' },
    'retry-ms': { type: 'string', default: '50' },
    chunk: { type: 'string', default: '64KiB' },
    'h2-window': { type: 'string' },
    'h2-conn-window': { type: 'string' },
    'h2-refusal': { type: 'string', default: 'no_error' },
    'h1-refusal': { type: 'string', default: 'unread' },
    connections: { type: 'string' },
    tag: { type: 'string', default: '' },
    'stall-s': { type: 'string', default: '10' },
    'client-h2-session-memory': { type: 'string' },
    out: { type: 'string', default: join(here, 'results', 'h2-refusals.json') },
    help: { type: 'boolean', default: false },
  },
});

function bytes(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?$/i.exec(String(text).trim());
  if (!m) throw new TypeError(`not a size: ${text}`);
  const unit = { b: 1, kib: 1024, mib: MiB, gib: 1024 * MiB }[(m[2] ?? 'b').toLowerCase()];
  return Math.round(Number(m[1]) * unit);
}
const RST_CODES = { no_error: http2.constants.NGHTTP2_NO_ERROR, cancel: http2.constants.NGHTTP2_CANCEL, refused: http2.constants.NGHTTP2_REFUSED_STREAM };

if (args.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n') + '\n');
} else if (args.role === 'server') {
  await serve(JSON.parse(args.config));
} else if (args.role === 'client') {
  await client(JSON.parse(args.config));
} else {
  await main();
}

// ───────────────────────────── server ─────────────────────────────

async function serve(cfg) {
  const h1 = cfg.mode === 'h1';
  let stats;
  let cpu0;
  let bucket;
  const sockets = new Set();
  const sessions = new Set();
  const reset = () => {
    stats = {
      requests: 0, accepted: 0, refused: 0, acceptedBodyBytes: 0, refusedBodyBytesRead: 0,
      handshakes: 0, resumedHandshakes: 0, httpVersions: {}, expectSeen: 0, continueSent: 0,
      continueSentToRefused: 0, streamErrors: 0, socketBytesReadClosed: 0,
    };
    bucket = { tokens: cfg.burst, at: performance.now() };
    cpu0 = process.cpuUsage();
    // Sockets opened before the reset (the warm-up's) no longer count.
    for (const s of sockets) s.countFrom = s.bytesRead;
  };
  reset();
  const take = () => {
    const now = performance.now();
    bucket.tokens = Math.min(cfg.burst, bucket.tokens + ((now - bucket.at) * cfg.rate) / 1000);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    return false;
  };
  const probes = [];
  const version = (v) => (stats.httpVersions[v] = (stats.httpVersions[v] ?? 0) + 1);
  const REFUSAL = JSON.stringify({ error: 'Too Many Requests: rate limit exceeded for this connection' });

  const server = h1
    ? https.createServer({ key: cfg.key, cert: cfg.cert })
    : http2.createSecureServer({
        key: cfg.key, cert: cfg.cert, allowHTTP1: true,
        settings: cfg.h2Window ? { initialWindowSize: cfg.h2Window } : {},
      });
  server.on('secureConnection', (socket) => {
    stats.handshakes++;
    if (socket.isSessionReused()) stats.resumedHandshakes++;
    socket.countFrom = 0;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      stats.socketBytesReadClosed += socket.bytesRead - socket.countFrom;
    });
    socket.on('error', () => {});
  });
  server.on('tlsClientError', () => {});

  if (h1) {
    server.on('clientError', (_err, socket) => socket.destroy());
    const handle = (req, res, expect) => {
      version(req.httpVersion);
      if (req.url === '/warm' || req.url === '/probe') {
        if (expect) res.writeContinue();
        probes.push({ path: req.url, httpVersion: req.httpVersion, expect: req.headers.expect ?? null });
        req.resume();
        req.on('end', () => res.writeHead(200, { 'x-http-version': req.httpVersion }).end(JSON.stringify({ expect: req.headers.expect ?? null, httpVersion: req.httpVersion })));
        return;
      }
      stats.requests++;
      if (req.headers.expect !== undefined) stats.expectSeen++;
      if (!take()) {
        stats.refused++;
        if (cfg.h1Refusal === 'drain') {
          res.writeHead(429, { 'content-type': 'application/json', 'x-http-version': req.httpVersion }).end(REFUSAL);
          req.on('data', (c) => (stats.refusedBodyBytesRead += c.length));
        } else {
          // The emulator's answerUnread(): the whole answer straight onto the socket, nothing more read.
          req.pause();
          const head = ['HTTP/1.1 429 Too Many Requests', 'content-type: application/json', `content-length: ${Buffer.byteLength(REFUSAL)}`, 'connection: close', `x-http-version: ${req.httpVersion}`];
          req.socket.write(`${head.join('\r\n')}\r\n\r\n${REFUSAL}`);
        }
        return;
      }
      stats.accepted++;
      if (expect) {
        stats.continueSent++;
        res.writeContinue();
      }
      req.on('data', (c) => (stats.acceptedBodyBytes += c.length));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'x-http-version': req.httpVersion }).end('{}'));
    };
    server.on('request', (req, res) => handle(req, res, false));
    // Without this listener node:http would answer 100 Continue by itself, before any decision.
    server.on('checkContinue', (req, res) => handle(req, res, true));
  } else {
    server.on('session', (session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
      if (cfg.h2ConnWindow) session.setLocalWindowSize(cfg.h2ConnWindow);
      session.on('error', () => {});
    });
    server.on('stream', (stream, headers) => {
      version('2.0');
      stream.on('error', () => stats.streamErrors++);
      const path = headers[':path'];
      const expect = headers.expect === '100-continue';
      if (path === '/warm' || path === '/probe') {
        if (expect) stream.additionalHeaders({ ':status': 100 });
        probes.push({ path, httpVersion: '2.0', expect: headers.expect ?? null, continueSent: expect });
        stream.resume();
        stream.on('end', () => {
          stream.respond({ ':status': 200, 'x-http-version': '2.0' });
          stream.end(JSON.stringify({ expect: headers.expect ?? null, httpVersion: '2.0' }));
        });
        return;
      }
      stats.requests++;
      if (headers.expect !== undefined) stats.expectSeen++;
      if (!take()) {
        stats.refused++;
        stream.respond({ ':status': 429, 'content-type': 'application/json', 'x-http-version': '2.0' });
        stream.end(REFUSAL);
        // Sent once the 429 is out: the client is told to stop sending the body.
        stream.close(RST_CODES[cfg.h2Refusal]);
        return;
      }
      stats.accepted++;
      if (expect) {
        stats.continueSent++;
        stream.additionalHeaders({ ':status': 100 });
      }
      stream.on('data', (c) => (stats.acceptedBodyBytes += c.length));
      stream.on('end', () => {
        if (stream.destroyed) return;
        stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-http-version': '2.0' });
        stream.end('{}');
      });
    });
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.on('message', (msg) => {
    if (msg.type === 'reset') {
      reset();
      process.send({ type: 'reset-done' });
    } else if (msg.type === 'stats') {
      const cpu = process.cpuUsage(cpu0);
      let live = 0;
      for (const s of sockets) live += s.bytesRead - s.countFrom;
      const h2Sessions = [...sessions].map((session) => ({ ...session.state }));
      process.send({ type: 'stats', stats: { ...stats, socketBytesRead: stats.socketBytesReadClosed + live, cpuS: (cpu.user + cpu.system) / 1e6, h2Sessions }, probes });
    } else if (msg.type === 'exit') {
      process.exit(0);
    }
  });
  process.send({ type: 'listening', port: server.address().port });
}

// ───────────────────────────── client ─────────────────────────────

async function client(cfg) {
  const { Agent, request } = require('undici');
  if (cfg.clientH2SessionMemory) {
    const nodeHttp2 = require('node:http2');
    const connect = nodeHttp2.connect;
    nodeHttp2.connect = (authority, options, listener) => connect(authority, { ...options, maxSessionMemory: cfg.clientH2SessionMemory }, listener);
  }
  const h2 = cfg.mode !== 'h1';
  const expectContinue = cfg.mode === 'h2-expect';
  const origin = `https://127.0.0.1:${cfg.port}`;
  // --connections N caps the Agent's pool: by default an h2 pool opens one connection per request
  // dispatched before the first ALPN answer (a client not yet connected counts as busy at 1 request).
  const makeAgent = () => new Agent({ allowH2: h2, connect: { ca: cfg.cert }, ...(cfg.connections ? { connections: cfg.connections } : {}) });

  // What undici handed to the socket / stream for each request, and the status it got.
  let records = new Map();
  const rec = (request) => records.get(request) ?? records.set(request, { bytes: 0, status: 0 }).get(request);
  diagnostics.subscribe('undici:request:bodyChunkSent', ({ request, chunk }) => {
    rec(request).bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
  });
  diagnostics.subscribe('undici:request:headers', ({ request, response }) => {
    rec(request).status = response.statusCode;
  });
  let sockets = [];
  diagnostics.subscribe('undici:client:connected', ({ socket }) => sockets.push(socket));

  const pattern = Buffer.alloc(MiB);
  for (let i = 0, x = 0x9e3779b1; i < MiB; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    pattern.writeUInt32LE(x >>> 0, i);
  }
  function* slices(size) {
    for (let offset = 0; offset < size; offset += cfg.chunk) {
      const end = Math.min(offset + cfg.chunk, size);
      const from = offset % MiB;
      const slice = pattern.subarray(from, from + (end - offset));
      if (end === size && slice.length > TAIL_BYTES) {
        yield slice.subarray(0, slice.length - TAIL_BYTES);
        yield slice.subarray(slice.length - TAIL_BYTES);
      } else {
        yield slice;
      }
    }
  }
  // An async iterable, as the library's bodies are: undici writes it chunk by chunk, waiting for drain.
  async function* body(size) {
    yield* slices(size);
  }
  const put = (dispatcher, path, size, opts = {}) => request(`${origin}${path}`, {
    method: 'PUT', dispatcher, body: body(size),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), 'x-connection-id': 'bench-connection', ...opts.headers },
    expectContinue: opts.expectContinue ?? expectContinue,
  });

  // Warm-up (undici compiles its WASM parser in the background after its first requests) and the
  // probes, on their own agent, before the server resets its counters.
  const probes = {};
  const warm = makeAgent();
  for (let i = 0; i < 3; i++) await (await request(`${origin}/warm`, { dispatcher: warm })).body.text();
  for (let i = 0; i < 3; i++) await (await put(warm, '/warm', 256 * 1024)).body.text();
  if (h2) {
    const r = await put(warm, '/probe', 64 * 1024, { expectContinue: true });
    probes.expectContinueOption = { status: r.statusCode, server: JSON.parse(await r.body.text()) };
  } else {
    try {
      const r = await put(warm, '/probe', 64 * 1024, { headers: { expect: '100-continue' } });
      probes.expectHeader = { status: r.statusCode, server: JSON.parse(await r.body.text()) };
    } catch (err) {
      probes.expectHeader = { error: `${err.name}: ${err.message}` };
    }
    const r = await put(warm, '/probe', 64 * 1024, { expectContinue: true });
    probes.expectContinueOption = { status: r.statusCode, server: JSON.parse(await r.body.text()) };
  }
  await warm.close();
  records = new Map();
  sockets = [];
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 300));
  process.send({ type: 'ready' });
  await new Promise((resolve) => process.once('message', resolve));

  const agent = makeAgent();
  const counts = { requests: 0, accepted: 0, refusals: 0, otherStatus: 0, errors: {}, wrongVersion: 0 };
  const versionWanted = h2 ? '2.0' : '1.1';
  let next = 1;
  // A row that gets no part accepted for --stall-s fails with what was in flight, instead of hanging.
  let lastProgress = performance.now();
  const inflight = new Set();
  let ticks = 0;
  const watchdog = setInterval(() => {
    if (++ticks % 5 === 0) process.stderr.write(`[${ticks} s: ${counts.accepted}/${cfg.parts} accepted, ${counts.refusals} refused, ${Object.values(counts.errors).reduce((a, b) => a + b, 0)} errors] `);
    if (performance.now() - lastProgress < cfg.stallS * 1000) return;
    const pending = [...records.values()].filter((r) => r.status === 0).map((r) => r.bytes);
    process.send({ type: 'result', result: { stalled: true, ...counts, inflight: [...inflight], pendingRequestBytes: pending, sockets: sockets.map((s) => ({ alpn: s.alpnProtocol, destroyed: s.destroyed, bytesWritten: s.bytesWritten, writableLength: s.writableLength })) } });
    setTimeout(() => process.exit(2), 200);
  }, 1000);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (next <= cfg.parts) {
      const part = next++;
      inflight.add(part);
      for (;;) {
        counts.requests++;
        try {
          const res = await put(agent, `/part/${part}`, cfg.size);
          await res.body.text();
          if (res.headers['x-http-version'] !== versionWanted) counts.wrongVersion++;
          if (res.statusCode === 200) {
            lastProgress = performance.now();
            counts.accepted++;
            inflight.delete(part);
            break;
          }
          if (res.statusCode === 429) counts.refusals++;
          else counts.otherStatus++;
        } catch (err) {
          const key = `${err.code ?? err.name}: ${err.message}`;
          counts.errors[key] = (counts.errors[key] ?? 0) + 1;
        }
        await new Promise((resolve) => setTimeout(resolve, cfg.retryMs));
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  clearInterval(watchdog);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const all = [...records.values()];
  const sum = (list) => list.reduce((n, r) => n + r.bytes, 0);
  const refused = all.filter((r) => r.status === 429);
  const result = {
    wallS,
    cpuUserS: cpu.user / 1e6,
    cpuSystemS: cpu.system / 1e6,
    cpuS: (cpu.user + cpu.system) / 1e6,
    ...counts,
    refusedBodyBytesClient: sum(refused),
    refusedBodyBytesClientMax: Math.max(0, ...refused.map((r) => r.bytes)),
    refusalsWithZeroBodyClient: refused.filter((r) => r.bytes === 0).length,
    acceptedBodyBytesClient: sum(all.filter((r) => r.status === 200)),
    erroredBodyBytesClient: sum(all.filter((r) => r.status === 0)),
    connections: sockets.length,
    alpn: sockets.reduce((m, s) => ((m[s.alpnProtocol || 'none'] = (m[s.alpnProtocol || 'none'] ?? 0) + 1), m), {}),
    socketBytesWritten: sockets.reduce((n, s) => n + (s.bytesWritten ?? 0), 0),
    probes,
  };
  await agent.close();
  process.send({ type: 'result', result });
  process.disconnect();
}

// ───────────────────────────── orchestrator ─────────────────────────────

function child(role, cfg) {
  const proc = fork(fileURLToPath(import.meta.url), ['--role', role, '--config', JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] });
  const waiters = [];
  const inbox = [];
  proc.on('message', (msg) => (waiters.length ? waiters.shift()(msg) : inbox.push(msg)));
  proc.on('exit', (code) => {
    if (code) for (const w of waiters.splice(0)) w({ type: 'died', code });
  });
  const next = (type) => new Promise((resolve, reject) => {
    const take = (msg) => (msg.type === type ? resolve(msg) : reject(new Error(`${role}: expected ${type}, got ${JSON.stringify(msg).slice(0, 300)}`)));
    inbox.length ? take(inbox.shift()) : waiters.push(take);
  });
  return { proc, next };
}

async function runRow(base, mode, size) {
  const cfg = { ...base, mode, size };
  const server = child('server', cfg);
  const { port } = await server.next('listening');
  const cli = child('client', { ...cfg, port });
  try {
    await cli.next('ready');
    server.proc.send({ type: 'reset' });
    await server.next('reset-done');
    cli.proc.send({ type: 'go' });
    const { result } = await cli.next('result');
    if (result.stalled) {
      server.proc.send({ type: 'stats' });
      const { stats } = await server.next('stats');
      throw Object.assign(new Error(`${mode} ${size} B: no progress for ${cfg.stallS} s`), { detail: { client: result, server: stats } });
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the last sockets close and count
    server.proc.send({ type: 'stats' });
    const { stats, probes } = await server.next('stats');
    return { cfg, result, stats, probes };
  } finally {
    server.proc.send?.({ type: 'exit' });
    cli.proc.kill();
  }
}

function checks(mode, size, parts, r, s) {
  const h2 = mode !== 'h1';
  const list = [];
  const add = (what, ok, detail) => list.push({ what, ok, detail });
  add('every part accepted once', r.accepted === parts && s.accepted === parts, `${r.accepted} client / ${s.accepted} server`);
  add('server read exactly the accepted bodies', s.acceptedBodyBytes === parts * size, `${s.acceptedBodyBytes}`);
  add('refusals agree', r.refusals === s.refused, `${r.refusals} client / ${s.refused} server`);
  add(`protocol is ${h2 ? 'h2' : 'HTTP/1.1'} (server)`, Object.keys(s.httpVersions).join() === (h2 ? '2.0' : '1.1'), JSON.stringify(s.httpVersions));
  add(`ALPN is ${h2 ? 'h2' : 'http/1.1'} (client sockets)`, Object.keys(r.alpn).join() === (h2 ? 'h2' : 'http/1.1'), JSON.stringify(r.alpn));
  add('every answer carried the expected x-http-version', r.wrongVersion === 0, String(r.wrongVersion));
  if (mode === 'h2-expect') {
    add('server saw expect: 100-continue on every request', s.expectSeen === s.requests, `${s.expectSeen} of ${s.requests}`);
    add('100 sent to every accepted request and to no refused one', s.continueSent === s.accepted, `${s.continueSent} 100s, ${s.accepted} accepted`);
    add('client sent no body into a refusal', r.refusedBodyBytesClient === 0, String(r.refusedBodyBytesClient));
  } else {
    add('no expect header on the wire', s.expectSeen === 0, String(s.expectSeen));
  }
  return list;
}

async function main() {
  const selfsigned = require('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec', algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const base = {
    key: pems.private, cert: pems.cert,
    parts: Number(args.parts), concurrency: Number(args.concurrency), rate: Number(args.rate), burst: Number(args.burst),
    retryMs: Number(args['retry-ms']), chunk: bytes(args.chunk),
    h2Window: args['h2-window'] ? bytes(args['h2-window']) : undefined,
    h2ConnWindow: args['h2-conn-window'] ? bytes(args['h2-conn-window']) : undefined,
    h2Refusal: args['h2-refusal'], h1Refusal: args['h1-refusal'],
    connections: args.connections ? Number(args.connections) : undefined,
    stallS: Number(args['stall-s']),
    clientH2SessionMemory: args['client-h2-session-memory'] ? Number(args['client-h2-session-memory']) : undefined,
  };
  if (!(base.h2Refusal in RST_CODES)) throw new TypeError(`--h2-refusal: one of ${Object.keys(RST_CODES)}`);
  const undiciVersion = JSON.parse(readFileSync(require.resolve('undici/package.json'), 'utf8')).version;
  const rows = [];
  const command = `node ${relative(root, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim();
  let failed = false;
  for (const sizeText of args.sizes.split(',')) {
    const size = bytes(sizeText);
    for (const mode of args.modes.split(',')) {
      if (!['h1', 'h2', 'h2-expect'].includes(mode)) throw new TypeError(`unknown mode ${mode}`);
      process.stderr.write(`${mode} ${sizeText} × ${base.parts} … `);
      const id = `${mode}/${sizeText}${args.tag ? `/${args.tag}` : ''}`;
      let ran;
      try {
        ran = await runRow(base, mode, size);
      } catch (err) {
        if (!err.detail) throw err;
        failed = true;
        process.stderr.write(`STALLED: ${err.message}\n${JSON.stringify(err.detail)}\n`);
        rows.push({ id, command, mode, tag: args.tag || undefined, partBytes: size, parts: base.parts, stalled: true, error: err.message, detail: err.detail, ok: false });
        continue;
      }
      const { result: r, stats: s, probes } = ran;
      const list = checks(mode, size, base.parts, r, s);
      const ok = list.every((c) => c.ok);
      failed ||= !ok;
      const row = {
        id, command, mode, tag: args.tag || undefined, partBytes: size, parts: base.parts,
        wallS: round(r.wallS, 2),
        acceptedMiBPerS: round((s.acceptedBodyBytes / MiB) / r.wallS, 2),
        requests: r.requests, refusals: s.refused,
        refusedBodyBytesServerRead: s.refusedBodyBytesRead,
        refusedBodyBytesClient: r.refusedBodyBytesClient,
        refusedBodyBytesClientPerRefusal: Math.round(r.refusedBodyBytesClient / Math.max(1, r.refusals)),
        refusedBodyBytesClientMax: r.refusedBodyBytesClientMax,
        // TLS bytes read off every server socket beyond the accepted bodies: refused bodies (what
        // reached the server, including DATA discarded after RST_STREAM), headers, framing, handshakes.
        serverSocketBytesBeyondAccepted: s.socketBytesRead - s.acceptedBodyBytes,
        clientSocketBytesBeyondAccepted: r.socketBytesWritten - r.acceptedBodyBytesClient,
        handshakes: s.handshakes, resumedHandshakes: s.resumedHandshakes, clientConnections: r.connections,
        clientCpuS: round(r.cpuS, 3), clientCpuUserS: round(r.cpuUserS, 3), clientCpuSystemS: round(r.cpuSystemS, 3),
        clientCpuSPerAcceptedGiB: round(r.cpuS / ((s.acceptedBodyBytes || 1) / (1024 * MiB)), 3),
        serverCpuS: round(s.cpuS, 3),
        clientErrors: r.errors, otherStatus: r.otherStatus,
        server: s, client: { ...r, probes: undefined }, probes: { client: r.probes, server: probes },
        checks: list, ok,
      };
      rows.push(row);
      process.stderr.write(`${row.wallS} s, ${row.refusals} refusals, ${row.handshakes} handshakes, client→429 ${fmtBytes(row.refusedBodyBytesClient)}, cpu ${row.clientCpuS} s${ok ? '' : ' CHECKS FAILED: ' + list.filter((c) => !c.ok).map((c) => `${c.what} (${c.detail})`).join('; ')}\n`);
    }
  }

  const out = args.out;
  mkdirSync(dirname(out), { recursive: true });
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : { rows: [] };
  const merged = [...previous.rows.filter((p) => !rows.some((r) => r.id === p.id)), ...rows];
  const doc = {
    about: 'benchmarks/h2-refusals.mjs: part PUTs into a per-connection-id token bucket over HTTP/1.1, h2, h2 + expectContinue (issue 21)',
    updatedAt: new Date().toISOString(),
    node: process.version, undici: undiciVersion, cpus: cpus().length,
    lastCommand: command,
    lastConfig: { ...base, key: undefined, cert: undefined },
    rows: merged,
  };
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  printTable(rows);
  process.stderr.write(`wrote ${relative(process.cwd(), out)}\n`);
  process.exitCode = failed ? 1 : 0;
}

function round(x, digits) {
  return Number(x.toFixed(digits));
}
function fmtBytes(n) {
  return n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}
function printTable(rows) {
  const lines = [
    '| row | wall s | accepted MiB/s | refusals | body into 429s, client (per refusal) | server socket bytes beyond accepted | handshakes (resumed) | client CPU s | checks |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (r.stalled) {
      lines.push(`| ${r.id} | stalled: ${r.error} | | | | | | | FAILED |`);
      continue;
    }
    lines.push(`| ${r.id} | ${r.wallS} | ${r.acceptedMiBPerS} | ${r.refusals} | ${fmtBytes(r.refusedBodyBytesClient)} (${fmtBytes(r.refusedBodyBytesClientPerRefusal)}) | ${fmtBytes(r.serverSocketBytesBeyondAccepted)} | ${r.handshakes} (${r.resumedHandshakes}) | ${r.clientCpuS} | ${r.ok ? 'ok' : 'FAILED'} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
