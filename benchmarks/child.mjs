#!/usr/bin/env node
// One measurement, in its own process, so its CPU time and peak RSS are its own.
//
//   node benchmarks/child.mjs --kind ours --size 1GiB --part-size 8MiB --concurrency 4 [--sink URL] [--subscribe]
//
// kinds: idle | ceiling | ours | spool | tempfile | naive | libstorage | file | file-stream. Without --sink it starts its own sink
// process (handy under `node --cpu-prof` / `--heap-prof`). With --base-url/--api-key it uploads
// to another server speaking our protocol (the emulator) instead; byte accounting is then that
// server's business. The result is one JSON object: sent over IPC when forked, else printed.
//
// Over TLS and an emulated link (`run.mjs --links`): --sink is the link's https URL, --ca the
// PEM the client trusts (through its own dispatcher / request handler, never globally),
// --warm-sink the sink's own https URL (the warm-up skips the link: it warms the process, not
// the connections), --control the sink's plain URL for its stats, and --cold makes the
// measured transfer use a new client, so it opens its own connections as a fresh process would.
//
// Order of events: load → warm the HTTP client with a few tiny requests (undici optimises its
// WASM parser in the background after the first ones: ~33 MiB RSS and ~0.2 CPU-s once per
// process) → pause → gc → reset the kernel's peak-RSS mark → clock on → transfer → clock off,
// maxRSS read (the transfer's own peak) → verify with the sink → tear down → whole-process peak
// (the larger of the warm-up's and the transfer's).
import { fork } from 'node:child_process';
import { createReadStream, createWriteStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadLibrary } from './lib/dist.mjs';
import { resetPeakRss } from './lib/harness.mjs';
import { generatedSource, parseBytes } from './lib/source.mjs';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const { values: args } = parseArgs({
  options: {
    kind: { type: 'string', default: 'ours' },
    id: { type: 'string' },
    size: { type: 'string', default: '1GiB' },
    chunk: { type: 'string', default: '64KiB' },
    'part-size': { type: 'string', default: '8MiB' },
    concurrency: { type: 'string', default: '4' },
    sink: { type: 'string' },
    'base-url': { type: 'string' },
    'api-key': { type: 'string', default: 'bench-key' },
    filename: { type: 'string' },
    'content-type': { type: 'string', default: 'application/octet-stream' },
    /** JSON options of an undici Agent handed to the library as `dispatcher` (experiments). */
    agent: { type: 'string' },
    pause: { type: 'string', default: '400' },
    /** 'view' (default: zero-copy views of a pattern) or 'fresh' (a new buffer per chunk, like fs). */
    source: { type: 'string', default: 'view' },
    /**
     * kind spool: read the source from this URL with undici (`?size=&chunk=` appended) instead of
     * generating it in-process: a download of unknown size, as `benchmarks/spool-chunks.mjs` serves it.
     */
    download: { type: 'string' },
    /** kinds file and file-stream: the file to upload (--size must be its size). */
    file: { type: 'string' },
    /** A PEM file: the certificate authority the HTTPS clients trust. */
    ca: { type: 'string' },
    'warm-sink': { type: 'string' },
    control: { type: 'string' },
    cold: { type: 'boolean', default: false },
    /**
     * Measure the second of two back-to-back uploads of --size (the first runs after the gc,
     * unmeasured): a worker's steady state, where the last upload's part buffers are still alive.
     */
    'after-one': { type: 'boolean', default: false },
    /**
     * Subscribe a no-op handler (it only counts) to every diagnostics channel of the package, by
     * name (every event of the tracing ones), before anything is loaded: the cost of being traced.
     */
    subscribe: { type: 'boolean', default: false },
    /** A .cpuprofile file: V8's sampling profile of the measured transfer only (not load or warm-up). */
    profile: { type: 'string' },
    /**
     * The FIFO of `perf record -D -1 --control fifo:FIFO`: perf samples the measured transfer only
     * (all threads: the GC's and the compilers' too, and the kernel), enabled and disabled here.
     */
    'perf-ctl': { type: 'string' },
  },
});

const kind = args.kind;
const size = parseBytes(args.size);
const chunkSize = parseBytes(args.chunk);
const partSize = parseBytes(args['part-size']);
const concurrency = Number(args.concurrency);
const external = args['base-url'] !== undefined;

/** @type {import('node:child_process').ChildProcess | undefined} */
let ownSink;
async function startOwnSink() {
  const url = new URL('./sink.mjs', import.meta.url);
  ownSink = fork(url, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ready = await new Promise((resolve, reject) => {
    ownSink.once('message', resolve);
    ownSink.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  return /** @type {{url: string}} */ (ready).url;
}

const sinkUrl = external ? undefined : (args.sink ?? (await startOwnSink()));
const baseUrl = args['base-url'] ?? sinkUrl;
const warmUrl = args['warm-sink'] ?? baseUrl;
const controlUrl = args.control ?? sinkUrl;
const ca = args.ca === undefined ? undefined : readFileSync(args.ca, 'utf8');
const cold = args.cold;

// Control requests (sink stats) go through node:http, which every row has loaded anyway, on
// one kept-alive socket opened before the clock: they never touch the HTTP client under test.
const controlAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
/** @returns {Promise<any>} */
function control(path) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${controlUrl}${path}`, { agent: controlAgent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
const sinkStats = () => (controlUrl === undefined ? Promise.resolve(undefined) : control('/_stats'));

// The package's channels (docs/observability.md): public names, so no import from lib/ is needed.
const TRACING_CHANNELS = ['upload', 'init', 'part', 'complete'].map((name) => `ofauth-upload-stream:${name}`);
const PLAIN_CHANNELS = ['retry', 'rate-limit', 'spool', 'resume'].map((name) => `ofauth-upload-stream:${name}`);
let tracedEvents = 0;
if (args.subscribe) {
  const { default: diagnosticsChannel } = await import('node:diagnostics_channel');
  const count = () => void tracedEvents++;
  for (const name of TRACING_CHANNELS) {
    for (const event of ['start', 'end', 'asyncStart', 'asyncEnd', 'error']) diagnosticsChannel.subscribe(`tracing:${name}:${event}`, count);
  }
  for (const name of PLAIN_CHANNELS) diagnosticsChannel.subscribe(name, count);
}

// ── the rows ───────────────────────────────────────────────────────────────────────────────

/** @returns {Promise<{ warm: () => Promise<void>, run: () => Promise<unknown>, close: () => Promise<void> }>} */
async function prepare() {
  switch (kind) {
    case 'idle':
    case 'ours':
    case 'spool':
    case 'tempfile': {
      const { OFAuthUploadStream } = await loadLibrary();
      const { Agent } = await import('undici');
      // The library's own Agent unless the row brings one: --agent (experiments), or a CA to
      // trust, which only a dispatcher of ours can carry (then with the library's defaults).
      const newDispatcher = () =>
        args.agent === undefined && ca === undefined && !cold
          ? undefined
          : new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, ...JSON.parse(args.agent ?? '{}'), ...(ca ? { connect: { ca } } : {}) });
      /** @type {import('undici').Dispatcher | undefined} */
      let dispatcher = newDispatcher();
      // 'spool' and 'tempfile' compare the two ways to send a source of unknown size: the
      // library's spool (no size given), and by hand: write it to a temp file, stat, upload it.
      const tmp = kind === 'spool' || kind === 'tempfile' ? await mkdtemp(join(tmpdir(), 'bench-spool-')) : undefined;
      const streamFor = (url, filename, extra) =>
        new OFAuthUploadStream({
          apiKey: args['api-key'],
          connectionId: 'bench',
          baseUrl: url,
          filename,
          contentType: args['content-type'],
          concurrency,
          ...(dispatcher ? { dispatcher } : {}),
          ...extra,
        });
      const { request } = await import('undici');
      const download = async (bytes) => (await request(`${args.download}?size=${bytes}&chunk=${chunkSize}`)).body;
      const upload = async (url, bytes, filename) => {
        const source = args.download === undefined ? generatedSource(bytes, chunkSize, args.source) : await download(bytes);
        let stream;
        if (kind === 'spool') {
          stream = streamFor(url, filename, { spool: { dir: tmp } });
          await pipeline(source, stream);
        } else if (kind === 'tempfile') {
          const path = join(tmp, filename);
          await pipeline(source, createWriteStream(path));
          stream = streamFor(url, filename, { size: (await stat(path)).size });
          await pipeline(createReadStream(path), stream);
          await rm(path);
        } else {
          stream = streamFor(url, filename, { size: bytes });
          await pipeline(source, stream);
        }
        return stream.result;
      };
      return {
        // A tiny plan of `concurrency` parts: opens the connections the real upload reuses.
        // (Against the emulator the part size is the emulator's, so this is one small part.)
        warm: async () => {
          for (let i = 0; i < 3; i++) await upload(warmUrl, concurrency * 16 * 1024, `warm-${16 * 1024}.bin`);
          if (cold) {
            await dispatcher?.close();
            dispatcher = newDispatcher();
          }
        },
        run: async () => {
          const result = await upload(baseUrl, size, args.filename ?? `bench-${partSize}.bin`);
          return { mediaUploadId: result?.mediaUploadId, parts: result?.parts.length, expectedRequests: (result?.parts.length ?? 0) + 2 };
        },
        close: async () => {
          await dispatcher?.close();
          if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
        },
      };
    }
    case 'ceiling': {
      const { Agent, request } = await import('undici');
      const newAgent = () => new Agent(ca ? { connect: { ca } } : {});
      let agent = newAgent();
      const put = async (bytes, url = sinkUrl) => {
        const res = await request(`${url}/raw/ceiling`, {
          method: 'PUT',
          dispatcher: agent,
          headers: { 'content-length': String(bytes), 'x-bench-size': String(bytes) },
          body: generatedSource(bytes, chunkSize, args.source),
        });
        const body = await res.body.json();
        if (res.statusCode !== 200) throw new Error(`ceiling PUT: ${res.statusCode} ${JSON.stringify(body)}`);
      };
      return {
        warm: async () => {
          for (let i = 0; i < 3; i++) {
            await (await request(`${warmUrl}/_ping`, { dispatcher: agent })).body.text();
            await put(256 * 1024, warmUrl);
          }
          if (cold) {
            await agent.close();
            agent = newAgent();
          }
        },
        run: async () => {
          await put(size);
          return { expectedRequests: 1 };
        },
        close: () => agent.close(),
      };
    }
    case 'naive': {
      // What one writes without a library: stream-chunker cuts the source into partSize
      // chunks, each PUT in turn.
      const { Agent, request } = await import('undici');
      const { default: chunker } = await import('stream-chunker');
      const agent = new Agent();
      const auth = { apikey: 'bench-key', 'x-connection-id': 'bench' };
      const call = async (url, method, body, headers = {}) => {
        const res = await request(url, { method, dispatcher: agent, headers: { ...auth, ...headers }, body });
        const answer = await res.body.json();
        if (res.statusCode !== 200) throw new Error(`${method} ${url}: ${res.statusCode} ${JSON.stringify(answer)}`);
        return answer;
      };
      const upload = async (bytes, part) => {
        const plan = await call(`${sinkUrl}/v2/access/uploads/init`, 'POST',
          JSON.stringify({ filename: `naive-${part}.bin`, size: bytes, contentType: 'application/octet-stream' }),
          { 'content-type': 'application/json' });
        let index = 0;
        // A Writable, not `for await`: a byte-mode Readable's iterator joins whatever is
        // buffered into one read, which would break the chunker's part boundaries.
        const putEach = new Writable({
          highWaterMark: 1,
          write(chunk, _encoding, callback) {
            if (chunk.length === 0) return callback();
            const { uploadUrl } = plan.parts[index++];
            call(uploadUrl, 'PUT', chunk, { 'content-type': 'application/octet-stream' }).then(() => callback(), callback);
          },
        });
        await pipeline(generatedSource(bytes, chunkSize, args.source), chunker(part, { flush: true }), putEach);
        await call(plan.completeUrl, 'POST', JSON.stringify({ mediaUploadId: plan.mediaUploadId }), { 'content-type': 'application/json' });
      };
      return {
        warm: async () => {
          for (let i = 0; i < 3; i++) await upload(256 * 1024, 64 * 1024);
        },
        run: () => upload(size, partSize),
        close: () => agent.close(),
      };
    }
    case 'libstorage': {
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
      const { S3Client } = await import('@aws-sdk/client-s3');
      const { Upload } = await import('@aws-sdk/lib-storage');
      const newClient = (endpoint) =>
        new S3Client({
          endpoint,
          forcePathStyle: true,
          region: 'us-east-1',
          credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
          // Newer SDKs add a CRC32 of every body by default; the issue compares signing only.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
          // An https.Agent as the SDK makes its own (keep-alive, 50 sockets), trusting the sink's
          // certificate. Handed over as an instance, which the SDK also uses for the parts it
          // sends with `Expect: 100-continue` (given options instead, it opens a one-shot agent
          // of its own for each of them, which ignores them).
          ...(ca ? { requestHandler: { httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 50, ca }) } } : {}),
        });
      let client = newClient(warmUrl);
      let n = 0;
      const upload = async (bytes, part) => {
        const up = new Upload({
          client,
          params: {
            Bucket: 'bench',
            Key: `object-${n++}`,
            Body: generatedSource(bytes, chunkSize, args.source),
            Metadata: { 'bench-size': String(bytes), 'bench-part-size': String(part) },
          },
          partSize: part,
          queueSize: concurrency,
        });
        await up.done();
      };
      return {
        // Two 5 MiB parts (lib-storage's minimum part size) through the multipart path.
        warm: async () => {
          for (let i = 0; i < 2; i++) await upload(6 * MiB, 5 * MiB);
          if (cold || warmUrl !== sinkUrl) {
            client.destroy();
            client = newClient(sinkUrl);
          }
        },
        run: async () => {
          await upload(size, partSize);
          return { expectedRequests: Math.ceil(size / partSize) + 2 };
        },
        close: async () => client.destroy(),
      };
    }
    case 'file':
    case 'file-stream': {
      // The same file two ways: uploadFile (parts read in place at their offsets) against
      // pipeline(createReadStream, OFAuthUploadStream) (64 KiB chunks copied into part buffers).
      const { OFAuthUploadStream, uploadFile } = await loadLibrary();
      if (args.file === undefined) throw new Error(`--kind ${kind} needs --file`);
      const upload = async (path, bytes, part) => {
        const options = { apiKey: args['api-key'], connectionId: 'bench', baseUrl, filename: `bench-${part}.bin`, contentType: args['content-type'], concurrency };
        if (kind === 'file') return uploadFile(path, options);
        const stream = new OFAuthUploadStream({ ...options, size: bytes });
        await pipeline(createReadStream(path), stream);
        return stream.result;
      };
      const warmFile = `${args.file}.warm-${process.pid}`;
      const warmBytes = concurrency * 16 * 1024;
      writeFileSync(warmFile, Buffer.alloc(warmBytes, 1));
      return {
        warm: async () => {
          for (let i = 0; i < 3; i++) await upload(warmFile, warmBytes, 16 * 1024);
        },
        run: async () => {
          const result = await upload(args.file, size, partSize);
          return { mediaUploadId: result?.mediaUploadId, parts: result?.parts.length };
        },
        close: async () => rmSync(warmFile, { force: true }),
      };
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

/** Samples every 100 µs from here until `stop()`, which writes the profile to --profile. */
async function startProfiler() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(/** @type {string} */ (args.profile), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const mib = (kib) => Math.round((kib / 1024) * 10) / 10;

async function main() {
  const loaded = process.resourceUsage().maxRSS;
  if (sinkUrl !== undefined) await sinkStats(); // opens the control socket
  const row = await prepare();
  await row.warm();
  await sleep(Number(args.pause));
  globalThis.gc?.();
  await sleep(50);
  if (args['after-one'] && kind !== 'idle') await row.run();
  const before = await sinkStats();
  const memBefore = process.memoryUsage();
  const rssBeforeKiB = memBefore.rss / 1024;
  const warmPeakKiB = process.resourceUsage().maxRSS;
  const peakReset = resetPeakRss();

  let detail;
  const profiler = args.profile === undefined ? undefined : await startProfiler();
  if (args['perf-ctl'] !== undefined) writeFileSync(args['perf-ctl'], 'enable\n');
  const faultsBefore = process.resourceUsage().minorPageFault;
  const eventsBefore = tracedEvents;
  let cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  if (kind !== 'idle') detail = await row.run();
  else await sleep(200); // the idle baseline: RSS of the warmed process, left alone
  const wallNs = Number(process.hrtime.bigint() - t0);
  cpu = process.cpuUsage(cpu);
  const minorFaults = process.resourceUsage().minorPageFault - faultsBefore;
  if (args['perf-ctl'] !== undefined) writeFileSync(args['perf-ctl'], 'disable\n');
  if (profiler !== undefined) await profiler.stop();
  const endKiB = process.resourceUsage().maxRSS;
  const mem = process.memoryUsage();

  const after = await sinkStats();
  const bytes = kind === 'idle' ? 0 : size;
  if (before !== undefined && after !== undefined) {
    const newFailures = after.failures.slice(before.failures.length);
    if (newFailures.length > 0) throw new Error(`the sink saw byte-accounting failures:\n${newFailures.join('\n')}`);
    if (after.verifiedBytes - before.verifiedBytes !== bytes) {
      throw new Error(`the sink verified ${after.verifiedBytes - before.verifiedBytes} bytes, expected ${bytes}`);
    }
  }
  await row.close();
  controlAgent.destroy();
  const wall = wallNs / 1e9;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const result = {
    id: args.id ?? kind,
    kind,
    node: process.version,
    size: bytes,
    chunk: chunkSize,
    source: args.source,
    partSize: kind === 'ceiling' || kind === 'idle' ? undefined : partSize,
    concurrency: ['ours', 'spool', 'tempfile', 'libstorage', 'idle'].includes(kind) || kind.startsWith('file') ? concurrency : kind === 'naive' ? 1 : undefined,
    wallS: wall,
    mibPerS: kind === 'idle' ? undefined : bytes / MiB / wall,
    cpuS,
    cpuUserS: cpu.user / 1e6,
    cpuSysS: cpu.system / 1e6,
    /** Pages first touched during the transfer (each a kernel zero-fill: part buffers, heap growth). */
    minorFaults,
    cpuSPerGiB: kind === 'idle' ? undefined : cpuS / (bytes / GiB),
    rssLoadedMiB: mib(loaded),
    rssBeforeMiB: mib(rssBeforeKiB),
    warmPeakMiB: mib(warmPeakKiB),
    peakReset,
    rssEndMiB: mib(endKiB),
    rssNowMiB: mib(mem.rss / 1024),
    /** The transfer's own growth: its peak over this very process's warmed, idle RSS. */
    rssGrowthMiB: mib(endKiB - rssBeforeKiB),
    heapUsedMiB: mib(mem.heapUsed / 1024),
    heapTotalBeforeMiB: mib(memBefore.heapTotal / 1024),
    heapTotalMiB: mib(mem.heapTotal / 1024),
    arrayBuffersMiB: mib(mem.arrayBuffers / 1024),
    peakMiB: mib(Math.max(warmPeakKiB, process.resourceUsage().maxRSS)),
    sinkCpuSPerGiB: after && before && bytes > 0 ? (after.cpuS - before.cpuS) / (bytes / GiB) : undefined,
    connections: after && before ? after.connections - before.connections : undefined,
    requests: after && before ? after.requests - before.requests - 1 : undefined,
    detail,
    /** With --subscribe: the events the measured transfer published (0 would mean nothing was traced). */
    ...(args.subscribe ? { tracedEvents: tracedEvents - eventsBefore } : {}),
  };
  return result;
}

main().then(
  (result) => {
    ownSink?.kill();
    if (process.send) process.send({ ok: true, result }, () => process.exit(0));
    else {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      process.exit(0);
    }
  },
  (error) => {
    ownSink?.kill();
    const message = error instanceof Error ? `${error.stack ?? error.message}` : String(error);
    if (process.send) process.send({ ok: false, error: message }, () => process.exit(1));
    else {
      process.stderr.write(`${message}\n`);
      process.exit(1);
    }
  },
);
