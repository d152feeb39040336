#!/usr/bin/env node
// `npm run bench -- --ranged` (or `node benchmarks/ranged-sources.mjs`): uploads from remote
// sources, read part by part by byte range (issue 22) against today's stream-through, on loopback,
// and the ranged ones again behind a link that cuts connections. The issue's bar: "On loopback
// without cuts, a ranged S3 upload is at least as fast as today's stream-through".
//
// Rows (c=4, 8 MiB parts, 256 MiB by default):
//   s3-stream        today's stream-through: GetObjectCommand (whole object) → its Body piped into
//                    new OFAuthUploadStream({ size: ContentLength }), from s3rver
//   s3-ranged        uploadFromS3({ client, Bucket, Key }): HeadObject, then a ranged GetObject
//                    (IfMatch on the ETag) per part, up to `concurrency` at once, from s3rver
//   url-stream       uploadFromUrl(url, { ranges: false }): one GET read front to back, from a
//                    range-capable HTTP server in this process
//   url-ranged       uploadFromUrl(url): one ranged GET (If-Range + If-Match) per part, same server
//   s3-ranged-cuts   s3-ranged behind a TCP link that cuts connections at seeded random points,
//   url-ranged-cuts  url-ranged  ″     about one cut per 32 MiB of traffic from the source
//                    (benchmarks/lib/cutting-link.mjs); seed = 22000 + 10·round + row
// s3rver (test/fixtures/s3rver-child.mjs, its own process) gets the object once, from a temp
// file of the benchmark source's bytes; the HTTP server serves the same bytes (read from that
// file once, kept in memory so serving costs next to nothing) with Range, If-Range, If-Match and a
// strong ETag (206 + Content-Range). Each measurement is one child process
// (benchmarks/ranged-child.mjs) uploading to the sink (benchmarks/sink.mjs, byte accounting
// checked: a miss fails the run); rows interleaved over rounds, medians reported. Ratios are per
// round (ranged ÷ stream time of the same round), then the median. Writes results/ranged.{json,md}
// (ranged-quick.* with --quick).
//
// Options: --size 256MiB (default), --rounds N (default 3), --only id,id, --quick (64 MiB, one
// round: a smoke check), --concurrency N (default 4), --out DIR, --name STEM, --dist DIR (measure
// that build instead of a snapshot of dist/), --profile id (that row's measured upload under V8's
// sampling profiler, into benchmarks/profiles/).
import { spawn, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { snapshotDist } from './lib/dist.mjs';
import { forkSink, gitCommit, packageVersion, parseSize } from './lib/harness.mjs';
import { startCuttingLink } from './lib/cutting-link.mjs';
import { median, summary } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MiB = 1024 * 1024;
const KiB = 1024;
const PART_SIZE = 8 * MiB;
const CUT_MEAN = 32 * MiB;
const WARM_SIZE = 64 * KiB;
/** The cut rows' bound on what the source sent, as a multiple of the size (the issue's). */
const DOWNLOAD_LIMIT = 1.25;

/**
 * @typedef {{ id: string, child: 's3-stream' | 's3-ranged' | 'url-stream' | 'url-ranged', source: 's3' | 'url', cuts: boolean, label: string }} RangedRow
 * @returns {RangedRow[]}
 */
function rangedRows(only) {
  /** @type {RangedRow[]} */
  const list = [
    { id: 's3-stream', child: 's3-stream', source: 's3', cuts: false, label: 'S3, today: GetObject → OFAuthUploadStream' },
    { id: 's3-ranged', child: 's3-ranged', source: 's3', cuts: false, label: 'S3, uploadFromS3 (ranged GetObject per part)' },
    { id: 'url-stream', child: 'url-stream', source: 'url', cuts: false, label: 'URL, uploadFromUrl ranges: false (one GET)' },
    { id: 'url-ranged', child: 'url-ranged', source: 'url', cuts: false, label: 'URL, uploadFromUrl (ranged GET per part)' },
    { id: 's3-ranged-cuts', child: 's3-ranged', source: 's3', cuts: true, label: 'S3, uploadFromS3, a cut per ~32 MiB' },
    { id: 'url-ranged-cuts', child: 'url-ranged', source: 'url', cuts: true, label: 'URL, uploadFromUrl, a cut per ~32 MiB' },
  ];
  if (only === undefined) return list;
  const wanted = new Set(only.split(','));
  const unknown = [...wanted].filter((id) => !list.some((r) => r.id === id));
  if (unknown.length) throw new Error(`unknown rows: ${unknown.join(', ')} (known: ${list.map((r) => r.id).join(', ')})`);
  return list.filter((r) => wanted.has(r.id));
}

/**
 * @param {{ quick?: boolean, size?: number, rounds?: number, only?: string, concurrency?: number, outDir?: string, stem?: string, dist?: string, profile?: string }} options
 */
export async function runRangedSources(options = {}) {
  const started = Date.now();
  const quick = options.quick ?? false;
  const size = options.size ?? (quick ? 64 * MiB : 256 * MiB);
  const rounds = options.rounds ?? (quick ? 1 : 3);
  const concurrency = options.concurrency ?? 4;
  const outDir = options.outDir ?? join(here, 'results');
  const stem = options.stem ?? (quick ? 'ranged-quick' : 'ranged');
  const rows = rangedRows(options.only);
  // A private copy of dist/, loaded by every child (and by this process, for the source's bytes).
  const dist = options.dist === undefined ? snapshotDist(`.dist-snapshot-${process.pid}`) : resolve(options.dist);
  process.env.BENCH_DIST = dist;
  const env = { ...process.env, BENCH_DIST: dist, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const { generatedSource } = await import('./lib/source.mjs');
  const file = join(os.tmpdir(), `ofauth-ranged-${process.pid}.bin`);
  const warmFile = join(os.tmpdir(), `ofauth-ranged-${process.pid}.warm.bin`);
  /** @type {Array<() => unknown>} */
  const cleanup = [];
  /** @type {Record<string, any[]>} */
  const samples = Object.fromEntries(rows.map((r) => [r.id, []]));
  try {
    cleanup.push(() => rmSync(file, { force: true }));
    cleanup.push(() => rmSync(warmFile, { force: true }));
    await pipeline(generatedSource(size, MiB), createWriteStream(file));
    await pipeline(generatedSource(WARM_SIZE, WARM_SIZE), createWriteStream(warmFile));
    // Neither the object nor the server's copy of it lives in this process: a child's maxRSS
    // starts at its parent's RSS when it was forked (Linux carries the forked memory's high-water
    // mark across exec), so a big orchestrator would show as every row's RSS.
    const needS3 = rows.some((r) => r.source === 's3');
    const needUrl = rows.some((r) => r.source === 'url');
    const s3 = needS3 ? await startS3(file, warmFile, size) : undefined;
    if (s3) cleanup.push(() => s3.close());
    const http = needUrl ? await forkRangeServer(file, warmFile, env) : undefined;
    if (http) cleanup.push(() => http.close());
    const sink = await forkSink(env);
    cleanup.push(() => sink.child.kill());
    for (let round = 1; round <= rounds; round++) {
      for (const [index, row] of rows.entries()) {
        const target = row.source === 's3' ? /** @type {NonNullable<typeof s3>} */ (s3) : /** @type {NonNullable<typeof http>} */ (http);
        const seed = 22_000 + 10 * round + index;
        const link = row.cuts ? await startCuttingLink(target.port, CUT_MEAN, seed) : undefined;
        const direct = `http://127.0.0.1:${target.port}`;
        const through = link?.url ?? direct;
        const childArgs = ['--row', row.child, '--id', row.id, '--size', String(size), '--part-size', String(PART_SIZE), '--concurrency', String(concurrency), '--sink', sink.url];
        if (row.source === 's3') childArgs.push('--s3-endpoint', through, '--warm-endpoint', direct, '--bucket', 'bench', '--key', 'bench.bin', '--warm-key', 'warm.bin');
        else childArgs.push('--url', `${through}/bench.bin`, '--warm-url', `${direct}/warm.bin`);
        if (options.profile?.split(',').includes(row.id)) {
          const dir = join(here, 'profiles');
          mkdirSync(dir, { recursive: true });
          childArgs.push('--profile', join(dir, `${row.id}-round${round}-${process.pid}.cpuprofile`));
        }
        await http?.resetPeak();
        const sourceCpu0 = cpuSeconds(target.pid);
        let result;
        try {
          result = await measure(row.id, childArgs, env);
        } finally {
          await link?.close();
        }
        // The source's own CPU (s3rver's, the range server's) over the whole measurement, warm-up
        // included (a few hundred KiB): the two cores are shared, so what it costs the source counts.
        const sourceCpu1 = cpuSeconds(target.pid);
        if (sourceCpu0 !== undefined && sourceCpu1 !== undefined) result.sourceCpuSPerGiB = (sourceCpu1 - sourceCpu0) / (size / (1024 * MiB));
        if (row.source === 'url') result.serverPeakRanges = await /** @type {NonNullable<typeof http>} */ (http).peakRanges();
        if (link) {
          result.seed = seed;
          result.cuts = link.cuts;
          result.linkConnections = link.connections;
          result.linkBytesDown = link.bytesDown;
        }
        // What the source sent for this upload, over its size: through the link, all its traffic
        // (headers and the probe included); otherwise the bytes the library counted.
        result.downloadedPerSize = link ? link.bytesDown / size : result.download.bytes / size;
        samples[row.id].push(result);
        const cut = link ? `, ${link.cuts} cuts, ${result.downloadedPerSize.toFixed(3)}× downloaded` : '';
        process.stderr.write(
          `[round ${round}/${rounds}] ${row.id.padEnd(15)} ${result.wallS.toFixed(2)} s, ${result.mibPerS.toFixed(0)} MiB/s, ${result.cpuSPerGiB.toFixed(2)} CPU-s/GiB, RSS end ${result.rssEndMiB} MiB, ${result.download.requests} range requests (${result.download.rereads} rereads)${cut}\n`,
        );
      }
    }
    const stats = await (await fetch(`${sink.url}/_stats`)).json();
    if (stats.failures.length > 0 || stats.openUploads !== 0) {
      throw new Error(`the sink saw ${stats.failures.length} byte-accounting failures and ${stats.openUploads} unfinished uploads:\n${stats.failures.join('\n')}`);
    }
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch {
        /* tearing down: the run's own error, if any, is the one to report */
      }
    }
    if (options.dist === undefined) rmSync(dist, { recursive: true, force: true });
  }

  const perRound = (a, b, metric) =>
    samples[a]?.length && samples[b]?.length === samples[a].length ? median(samples[a].map((r, i) => r[metric] / samples[b][i][metric])) : undefined;
  const results = rows.map((row) => {
    const runs = samples[row.id];
    const pick = (f) => summary(runs.map(f));
    return {
      ...row,
      wallS: pick((r) => r.wallS),
      mibPerS: pick((r) => r.mibPerS),
      cpuSPerGiB: pick((r) => r.cpuSPerGiB),
      sourceCpuSPerGiB: pick((r) => r.sourceCpuSPerGiB),
      sinkCpuSPerGiB: pick((r) => r.sinkCpuSPerGiB),
      rssEndMiB: pick((r) => r.rssEndMiB),
      peakMiB: pick((r) => r.peakMiB),
      downloadedPerSize: pick((r) => r.downloadedPerSize),
      requests: pick((r) => r.download.requests),
      rereads: pick((r) => r.download.rereads),
      cuts: row.cuts ? pick((r) => r.cuts) : undefined,
      peakRangeReads: pick((r) => r.peakRangeReads ?? r.serverPeakRanges),
      runs,
    };
  });
  /** @type {{ name: string, value: string, limit: string, holds: boolean | undefined }[]} */
  const targets = [];
  const ratios = {};
  const fmt = (x, d = 2) => (x === undefined ? 'n/a' : x.toFixed(d));
  for (const [ranged, stream] of [['s3-ranged', 's3-stream'], ['url-ranged', 'url-stream']]) {
    const ratio = perRound(ranged, stream, 'wallS');
    if (ratio === undefined) continue;
    ratios[`${ranged}/${stream}`] = ratio;
    const each = samples[ranged].map((r, i) => fmt(r.wallS / samples[stream][i].wallS)).join(', ');
    targets.push({ name: `${ranged} wall time vs ${stream} (rounds: ${each})`, value: `${fmt(ratio)}×`, limit: '≤ 1.00×', holds: ratio <= 1 });
    const cpu = perRound(ranged, stream, 'cpuSPerGiB');
    ratios[`${ranged}/${stream} CPU`] = cpu;
  }
  for (const r of results.filter((x) => x.cuts !== undefined)) {
    const worst = r.downloadedPerSize.max;
    targets.push({ name: `${r.id}: downloaded ÷ size, worst round (cuts: ${r.runs.map((x) => x.cuts).join(', ')})`, value: `${fmt(worst, 5)}×`, limit: `≤ ${DOWNLOAD_LIMIT}×`, holds: worst !== undefined && worst <= DOWNLOAD_LIMIT });
    const fewest = r.cuts.min;
    targets.push({ name: `${r.id}: the link cut every round`, value: `${fewest} cuts at least`, limit: '≥ 1', holds: fewest !== undefined && fewest >= 1 });
  }
  const report = {
    generatedAt: new Date().toISOString(),
    quick,
    rounds,
    size,
    partSize: PART_SIZE,
    concurrency,
    cutMeanBytes: CUT_MEAN,
    durationS: Math.round((Date.now() - started) / 100) / 10,
    machine: machine(),
    ratios,
    targets,
    results,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const md = renderMarkdown(report);
  writeFileSync(join(outDir, `${stem}.md`), md);
  process.stdout.write(md);
  process.stderr.write(`\nwrote ${join(outDir, `${stem}.json`)} (+ .md) in ${report.durationS} s\n`);
  return report;
}

/** User + system CPU seconds of a process so far (Linux: /proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** One measurement: benchmarks/ranged-child.mjs in a process of its own, answering over IPC. */
function measure(id, childArgs, env) {
  const child = fork(join(here, 'ranged-child.mjs'), childArgs, { execArgv: ['--expose-gc'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((done, reject) => {
    let answer;
    child.on('message', (m) => (answer = m));
    child.on('exit', (code) => {
      if (answer?.ok) done(answer.result);
      else reject(new Error(`row ${id} failed (exit ${code}): ${answer?.error ?? 'no result'}`));
    });
  });
}

/**
 * s3rver in a child process of its own, as the tests start it (test/fixtures/s3rver-child.mjs,
 * with --openssl-legacy-provider), holding bucket `bench` with `bench.bin` (the data) and
 * `warm.bin` (the warm-ups' object).
 */
async function startS3(file, warmFile, size) {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', join(root, 'test', 'fixtures', 's3rver-child.mjs')], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((ready, reject) => {
    let text = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) ready(JSON.parse(text.split('\n')[0]).port);
    });
  });
  const close = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.stdin.end();
    const timer = setTimeout(() => child.kill(), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    // In a child of its own too: the SDK alone would add some 30 MiB to this process's RSS.
    const put = fork(fileURLToPath(import.meta.url), ['--put', String(port), file, warmFile, String(size)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [code] = await once(put, 'exit');
    if (code !== 0) throw new Error(`putting the object into s3rver failed (exit ${code})`);
  } catch (error) {
    await close();
    throw error;
  }
  return { port, pid: child.pid, close };
}

/** Bucket `bench`, `warm.bin` and `bench.bin` (streamed from the file) into s3rver at `port`. */
async function putObjects(port, file, warmFile, size) {
  const { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'warm.bin', Body: readFileSync(warmFile), ContentType: 'application/octet-stream' }));
  // Streamed from the file (an unsigned payload), so this process never holds the object.
  await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'bench.bin', Body: createReadStream(file), ContentLength: size, ContentType: 'application/octet-stream' }));
  const head = await client.send(new HeadObjectCommand({ Bucket: 'bench', Key: 'bench.bin' }));
  if (head.ContentLength !== size) throw new Error(`s3rver holds ${head.ContentLength} bytes of ${size}`);
  client.destroy();
}

/**
 * The range server in a process of its own (this script with --serve): its port, and the most
 * range answers it sent at once since the last reset, asked over IPC.
 */
async function forkRangeServer(file, warmFile, env) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', file, warmFile], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((ready, reject) => {
    child.once('message', (m) => ready(/** @type {any} */ (m).port));
    child.once('exit', (code) => reject(new Error(`range server exited with ${code}`)));
  });
  const ask = (what) =>
    new Promise((answer) => {
      child.once('message', (m) => answer(/** @type {any} */ (m).peak));
      child.send(what);
    });
  return {
    port,
    pid: child.pid,
    peakRanges: () => ask('peak'),
    resetPeak: () => ask('reset'),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill();
      await exited;
    },
  };
}

/**
 * A range-capable HTTP server on 127.0.0.1 (RFC 9110, as a CDN answers): a strong ETag and
 * Last-Modified, `Accept-Ranges: bytes`; `Range: bytes=s-e` → 206 + Content-Range; `If-Range`
 * that does not match → 200 with the whole body; `If-Match` that fails → 412; past the end → 416.
 * Bodies are written from memory (the files read once) in one write each: the server costs next
 * to nothing.
 * @param {Record<string, Buffer>} files
 */
async function serveRanges(files) {
  const lastModified = new Date(Date.now() - 3_600_000).toUTCString();
  const etags = Object.fromEntries(Object.entries(files).map(([path, body]) => [path, `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`]));
  let open = 0;
  let peak = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = files[path];
    if (body === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(body === undefined ? 404 : 405, { 'content-length': '0' }).end();
      return;
    }
    const etag = etags[path];
    const headers = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag, 'last-modified': lastModified };
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && !ifMatch.split(',').some((tag) => tag.trim() === etag)) {
      res.writeHead(412, { ...headers, 'content-length': '0' }).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const send = (status, slice, extra) => {
      res.writeHead(status, { ...headers, ...extra, 'content-length': String(slice.length) });
      if (req.method === 'HEAD') res.end();
      else res.end(slice);
    };
    if (range === null || (ifRange !== undefined && ifRange !== etag && ifRange !== lastModified)) {
      send(200, body, {});
      return;
    }
    const start = Number(range[1]);
    const end = Math.min(range[2] === '' ? body.length - 1 : Number(range[2]), body.length - 1);
    if (start >= body.length || start > end) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${body.length}`, 'content-length': '0' }).end();
      return;
    }
    open++;
    peak = Math.max(peak, open);
    res.once('close', () => open--);
    send(206, body.subarray(start, end + 1), { 'content-range': `bytes ${start}-${end}/${body.length}` });
  });
  await new Promise((ready) => server.listen(0, '127.0.0.1', () => ready(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    port: address.port,
    peakRanges: () => peak,
    resetPeak: () => (peak = open),
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done(undefined));
      }),
  };
}

function machine() {
  const commit = gitCommit();
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    versions: { undici: packageVersion('undici'), '@aws-sdk/client-s3': packageVersion('@aws-sdk/client-s3'), s3rver: packageVersion('s3rver') },
    commit,
  };
}

/** The report as markdown (exported to re-render a results JSON). */
export function renderMarkdown(report) {
  const f = (x, d = 2) => (x === undefined ? 'n/a' : x.toFixed(d));
  const lines = [
    `Ranged sources against today's stream-through: ${report.size / MiB} MiB each, c=${report.concurrency}, ${report.partSize / MiB} MiB parts, ${report.rounds} round(s), medians; Node ${report.machine.node}, ${report.machine.cores} cores, commit ${report.machine.commit}.`,
    '',
    '| row | what | wall s (min–max) | MiB/s | CPU s/GiB | source CPU s/GiB | RSS end MiB | downloaded ÷ size | cuts | range requests (rereads) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of report.results) {
    const cuts = r.cuts === undefined ? '–' : `${f(r.cuts.median, 0)} (${r.runs.map((x) => x.cuts).join(', ')})`;
    const downloaded = r.cuts === undefined ? f(r.downloadedPerSize.median, 3) : `${f(r.downloadedPerSize.median, 5)} (max ${f(r.downloadedPerSize.max, 5)})`;
    lines.push(
      `| ${r.id} | ${r.label} | ${f(r.wallS.median)} (${f(r.wallS.min)}–${f(r.wallS.max)}) | ${f(r.mibPerS.median, 0)} | ${f(r.cpuSPerGiB.median)} | ${f(r.sourceCpuSPerGiB.median)} | ${f(r.rssEndMiB.median, 1)} | ${downloaded} | ${cuts} | ${f(r.requests.median, 0)} (${f(r.rereads.median, 0)}) |`,
    );
  }
  lines.push('');
  const ratioLines = Object.entries(report.ratios).filter(([, v]) => v !== undefined);
  if (ratioLines.length > 0) {
    lines.push(`Ratios (per round, then the median): ${ratioLines.map(([k, v]) => `${k} ${f(v)}×`).join('; ')}. Time below 1 means the ranged row was faster.`, '');
  }
  if (report.targets.length > 0) {
    lines.push('| target | measured | limit | holds |', '|---|---:|---:|:---:|');
    for (const t of report.targets) lines.push(`| ${t.name} | ${t.value} | ${t.limit} | ${t.holds === undefined ? '–' : t.holds ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  lines.push(
    'CPU s/GiB: the uploading process (the child), user + system, during the upload. Source CPU: s3rver\'s or the range server\'s process over the whole measurement. ' +
    'Downloaded ÷ size: behind the cutting link, every byte the source sent through it (headers and the probe included) over the size; otherwise `result.download.bytes` over the size. The sink checked every part and every upload byte for byte count.',
  );
  return `${lines.join('\n')}\n`;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url) && process.argv[2] === '--serve') {
  const [file, warmFile] = process.argv.slice(3);
  serveRanges({ '/bench.bin': readFileSync(file ?? ''), '/warm.bin': readFileSync(warmFile ?? '') }).then((server) => {
    process.on('message', (what) => {
      if (what === 'reset') server.resetPeak();
      process.send?.({ peak: server.peakRanges() });
    });
    process.on('disconnect', () => process.exit(0));
    process.send?.({ port: server.port });
  });
} else if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url) && process.argv[2] === '--put') {
  const [port, file, warmFile, size] = process.argv.slice(3);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  putObjects(Number(port), file ?? '', warmFile ?? '', Number(size)).then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
} else if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const { values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      size: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      concurrency: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      dist: { type: 'string' },
      profile: { type: 'string' },
    },
  });
  runRangedSources({
    quick: args.quick,
    size: args.size === undefined ? undefined : parseSize(args.size),
    rounds: args.rounds === undefined ? undefined : Number(args.rounds),
    only: args.only,
    concurrency: args.concurrency === undefined ? undefined : Number(args.concurrency),
    outDir: args.out,
    stem: args.name,
    dist: args.dist,
    profile: args.profile,
  }).catch((error) => {
    process.stderr.write(`\nbenchmark FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
