#!/usr/bin/env node
// One measurement of benchmarks/ranged-sources.mjs, in its own process, so its CPU time and peak
// RSS are its own: an upload from S3 (s3rver) or from an HTTP server, to the sink, with the
// library loaded from the run's snapshot of dist/ (BENCH_DIST).
//
//   node --expose-gc benchmarks/ranged-child.mjs --row s3-ranged --size 268435456 --sink URL \
//     --s3-endpoint http://127.0.0.1:PORT --bucket bench --key bench.bin --warm-key warm.bin
//
// rows (--row):
//   s3-stream   today's stream-through: GetObjectCommand (the whole object) → its Body piped into
//               new OFAuthUploadStream({ size: ContentLength }) (docs/s3.md "GetObject into the stream")
//   s3-ranged   uploadFromS3({ client, Bucket, Key }): HeadObject, then one ranged GetObject per part
//   url-stream  uploadFromUrl(url, { ranges: false }): the download read once, front to back
//   url-ranged  uploadFromUrl(url): one ranged GET per part
// The cut rows are s3-ranged and url-ranged with --s3-endpoint / --url pointing at a cutting link
// and --warm-endpoint / --warm-url at the source itself (the warm-up warms the process, not the
// link's cut schedule).
//
// Order of events, as benchmarks/child.mjs: load → three tiny uploads through the same code path
// (a 64 KiB object, 16 KiB parts: warms the SDK, undici's parser, the part buffers' code) → pause
// → gc → reset the kernel's peak-RSS mark → clock on → upload → clock off, maxRSS read → verify
// with the sink (every byte accounted for) → answer { ok, result } over IPC.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadLibrary } from './lib/dist.mjs';
import { resetPeakRss } from './lib/harness.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const WARM_PART = 16 * 1024;

const { values: args } = parseArgs({
  options: {
    row: { type: 'string' },
    id: { type: 'string' },
    size: { type: 'string' },
    'part-size': { type: 'string', default: String(8 * MiB) },
    concurrency: { type: 'string', default: '4' },
    sink: { type: 'string' },
    // S3 rows
    's3-endpoint': { type: 'string' },
    'warm-endpoint': { type: 'string' },
    bucket: { type: 'string', default: 'bench' },
    key: { type: 'string', default: 'bench.bin' },
    'warm-key': { type: 'string', default: 'warm.bin' },
    // URL rows
    url: { type: 'string' },
    'warm-url': { type: 'string' },
    pause: { type: 'string', default: '400' },
    /** A .cpuprofile file: V8's sampling profile of the measured upload only. */
    profile: { type: 'string' },
  },
});

const row = args.row ?? '';
const size = Number(args.size);
const partSize = Number(args['part-size']);
const concurrency = Number(args.concurrency);
const sinkUrl = args.sink;
if (!['s3-stream', 's3-ranged', 'url-stream', 'url-ranged'].includes(row)) throw new Error(`--row: unknown row ${row}`);
if (!(size > 0) || sinkUrl === undefined) throw new Error('--size and --sink are required');

// Sink stats through node:http on one kept-alive socket opened before the clock: they never
// touch the clients under test.
const controlAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
/** @returns {Promise<any>} */
function sinkStats() {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${sinkUrl}/_stats`, { agent: controlAgent }, (res) => {
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

const base = { apiKey: 'bench-key', connectionId: 'bench', baseUrl: sinkUrl, contentType: 'application/octet-stream', concurrency };

/** @returns {Promise<{ upload: (warm: boolean) => Promise<any>, close: () => Promise<void> }>} */
async function prepare() {
  const { OFAuthUploadStream, uploadFromS3, uploadFromUrl } = await loadLibrary();
  if (row.startsWith('s3-')) {
    const { GetObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
    const endpoint = args['s3-endpoint'];
    if (endpoint === undefined) throw new Error(`--row ${row} needs --s3-endpoint`);
    const newClient = (url) => new S3Client({ endpoint: url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const client = newClient(endpoint);
    const warmClient = args['warm-endpoint'] === undefined || args['warm-endpoint'] === endpoint ? client : newClient(args['warm-endpoint']);
    const Bucket = args.bucket;
    // The client as uploadFromS3 sees it, counting the ranged reads whose bodies are open at
    // once (one counter per call: whether the parts are really read in parallel).
    const counting = (c) => ({
      send: async (command, options) => {
        const answer = await c.send(command, options);
        const body = answer?.Body;
        if (body !== undefined && typeof body.once === 'function') {
          openReads++;
          peakRangeReads = Math.max(peakRangeReads, openReads);
          body.once('close', () => openReads--);
        }
        return answer;
      },
    });
    return {
      upload: async (warm) => {
        const c = warm ? warmClient : client;
        const Key = warm ? args['warm-key'] : args.key;
        const filename = warm ? `warm-${WARM_PART}.bin` : `bench-${partSize}.bin`;
        if (row === 's3-ranged') return uploadFromS3({ client: counting(c), Bucket, Key }, { ...base, filename });
        // Today's stream-through, as docs/s3.md shows it.
        const object = await c.send(new GetObjectCommand({ Bucket, Key }));
        if (object.Body === undefined || object.ContentLength === undefined) throw new Error('S3 answered without a body or a Content-Length');
        const stream = new OFAuthUploadStream({ ...base, filename, size: object.ContentLength });
        await pipeline(/** @type {import('node:stream').Readable} */ (object.Body), stream);
        // The stream checked that exactly ContentLength bytes came (else SizeMismatchError).
        // As the library reports a stream (requests counts range requests only).
        return { ...stream.result, download: { mode: 'stream', bytes: object.ContentLength, requests: 0, rereads: 0 } };
      },
      close: async () => {
        client.destroy();
        if (warmClient !== client) warmClient.destroy();
      },
    };
  }
  const url = args.url;
  if (url === undefined) throw new Error(`--row ${row} needs --url`);
  const warmUrl = args['warm-url'] ?? new URL('/warm.bin', url).href;
  return {
    upload: (warm) =>
      uploadFromUrl(warm ? warmUrl : url, {
        ...base,
        filename: warm ? `warm-${WARM_PART}.bin` : `bench-${partSize}.bin`,
        ...(row === 'url-stream' ? { ranges: false } : {}),
      }),
    close: async () => undefined,
  };
}

async function startProfiler() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 }); // 1 ms: light enough not to change the race between download and upload
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(/** @type {string} */ (args.profile), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

let openReads = 0;
let peakRangeReads = 0;

const mib = (kib) => Math.round((kib / 1024) * 10) / 10;

async function main() {
  await sinkStats(); // opens the control socket
  const job = await prepare();
  for (let i = 0; i < 3; i++) {
    const warm = await job.upload(true);
    if (warm.download.mode !== (row.endsWith('-stream') ? 'stream' : 'ranged')) throw new Error(`warm-up: read as ${warm.download.mode} (${warm.download.why ?? ''})`);
  }
  await sleep(Number(args.pause));
  globalThis.gc?.();
  await sleep(50);
  const before = await sinkStats();
  const rssBeforeKiB = process.memoryUsage().rss / 1024;
  const warmPeakKiB = process.resourceUsage().maxRSS;
  const peakReset = resetPeakRss();
  const profiler = args.profile === undefined ? undefined : await startProfiler();
  peakRangeReads = openReads;
  const faultsBefore = process.resourceUsage().minorPageFault;
  let cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await job.upload(false);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  cpu = process.cpuUsage(cpu);
  const minorFaults = process.resourceUsage().minorPageFault - faultsBefore;
  if (profiler !== undefined) await profiler.stop();
  const endKiB = process.resourceUsage().maxRSS;
  const after = await sinkStats();
  const newFailures = after.failures.slice(before.failures.length);
  if (newFailures.length > 0) throw new Error(`the sink saw byte-accounting failures:\n${newFailures.join('\n')}`);
  if (after.verifiedBytes - before.verifiedBytes !== size) throw new Error(`the sink verified ${after.verifiedBytes - before.verifiedBytes} bytes, expected ${size}`);
  const expectedMode = row.endsWith('-stream') ? 'stream' : 'ranged';
  if (result.download.mode !== expectedMode) throw new Error(`read as ${result.download.mode}, expected ${expectedMode} (${result.download.why ?? ''})`);
  await job.close();
  controlAgent.destroy();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    id: args.id ?? row,
    row,
    node: process.version,
    size,
    partSize,
    concurrency,
    wallS,
    mibPerS: size / MiB / wallS,
    cpuS,
    cpuUserS: cpu.user / 1e6,
    cpuSysS: cpu.system / 1e6,
    cpuSPerGiB: cpuS / (size / GiB),
    minorFaults,
    rssBeforeMiB: mib(rssBeforeKiB),
    peakReset,
    rssEndMiB: mib(endKiB),
    rssGrowthMiB: mib(endKiB - rssBeforeKiB),
    peakMiB: mib(Math.max(warmPeakKiB, process.resourceUsage().maxRSS)),
    sinkCpuSPerGiB: (after.cpuS - before.cpuS) / (size / GiB),
    sinkConnections: after.connections - before.connections,
    sinkRequests: after.requests - before.requests - 1,
    parts: result.parts?.length,
    download: result.download,
    downloadedPerSize: result.download.bytes / size,
    ...(row === 's3-ranged' ? { peakRangeReads } : {}),
  };
}

main().then(
  (result) => {
    if (process.send) process.send({ ok: true, result }, () => process.exit(0));
    else {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      process.exit(0);
    }
  },
  (error) => {
    const message = error instanceof Error ? `${error.stack ?? error.message}` : String(error);
    if (process.send) process.send({ ok: false, error: message }, () => process.exit(1));
    else {
      process.stderr.write(`${message}\n`);
      process.exit(1);
    }
  },
);
