#!/usr/bin/env node
// `npm run bench -- --spool-chunks` (or `node benchmarks/spool-chunks.mjs`): a source of unknown
// size, spooled (memory 8 MiB, then disk) and uploaded, fed in 4, 16 and 64 KiB chunks (issue
// 26: small chunks made the spool superlinear). Target: each row's time within 1.2× of the
// 64 KiB row of its group, from the same round.
//
// Three groups of three rows:
//   download-{4,16,64}k  the issue's case: an HTTP download without Content-Length, read with
//                        undici, from a server (in this process) that writes the body in pieces
//                        of that size, one chunked-encoding chunk each, respecting backpressure
//   memory-{4,16,64}k    a Readable generated in the measuring process, chunks of that size
//   fetch-{4,16,64}k     for reference, no upload: the same download into a Writable that drops
//                        it, i.e. what undici alone costs per chunk size (the download rows' floor)
// Each measurement is one child process (benchmarks/child.mjs --kind spool), uploading to the
// sink (benchmarks/sink.mjs, byte accounting checked), c=4, 8 MiB parts; rows interleaved over
// rounds, medians reported. Writes results/spool-chunks.{json,md}.
//
// Options: --size 1GiB (default), --rounds N (default 3), --only id,id, --quick (128 MiB, one
// round: a smoke check, written to results/tmp/), --out DIR, --name STEM, --dist DIR (measure that build of the library,
// e.g. an older commit's, instead of a snapshot of dist/).
import { fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer as createNetServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { snapshotDist } from './lib/dist.mjs';
import { forkSink, parseSize } from './lib/harness.mjs';
import { measureInChild } from './lib/row-child.mjs';
import { median, summary } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const KiB = 1024;
const LIMIT = 1.2;

/**
 * @param {{ quick?: boolean, size?: number, rounds?: number, only?: string, outDir?: string, stem?: string, dist?: string }} options
 */
export async function runSpoolChunks(options = {}) {
  const started = Date.now();
  const quick = options.quick ?? false;
  const size = options.size ?? (quick ? 128 * MiB : 1024 * MiB);
  const rounds = options.rounds ?? (quick ? 1 : 3);
  // A smoke check's numbers are not to keep: results/tmp/ is ignored by git.
  const outDir = options.outDir ?? join(here, 'results', quick ? 'tmp' : '');
  const stem = options.stem ?? (quick ? 'spool-chunks-quick' : 'spool-chunks');
  const rows = spoolRows(options.only);
  // A private copy of dist/, loaded by this process (the download's source) and every child.
  const dist = options.dist === undefined ? snapshotDist(`.dist-snapshot-${process.pid}`) : resolve(options.dist);
  process.env.BENCH_DIST = dist;
  const env = { ...process.env, BENCH_DIST: dist };
  const { generatedSource } = await import('./lib/source.mjs');
  const download = await serveDownloads(generatedSource);
  const sink = await forkSink(env);
  /** @type {Record<string, any[]>} */
  const samples = Object.fromEntries(rows.map((r) => [r.id, []]));
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const row of rows) {
        const childArgs = ['--kind', 'spool', '--id', row.id, '--size', String(size), '--chunk', String(row.chunk), '--part-size', String(8 * MiB), '--concurrency', '4', '--sink', sink.url];
        if (row.group === 'download') childArgs.push('--download', download.url);
        const result =
          row.group === 'fetch'
            ? await measureFetch(download.url, row.chunk, size, env)
            : await measureInChild(row.id, childArgs, { execArgv: ['--expose-gc'], env });
        samples[row.id].push(result);
        process.stderr.write(`[round ${round}/${rounds}] ${row.id.padEnd(12)} ${result.wallS.toFixed(2)} s, ${result.mibPerS.toFixed(0)} MiB/s, ${result.cpuSPerGiB.toFixed(2)} CPU-s/GiB, RSS end ${result.rssEndMiB} MiB\n`);
      }
    }
    const stats = await (await fetch(`${sink.url}/_stats`)).json();
    if (stats.failures.length > 0 || stats.openUploads !== 0) {
      throw new Error(`the sink saw ${stats.failures.length} byte-accounting failures and ${stats.openUploads} unfinished uploads:\n${stats.failures.join('\n')}`);
    }
  } finally {
    sink.child.kill();
    download.close();
    if (options.dist === undefined) rmSync(dist, { recursive: true, force: true });
  }
  const results = rows.map((row) => {
    const runs = samples[row.id];
    const base = samples[`${row.group}-64k`];
    // Per round: this row's time over the 64 KiB row's of the same round, then the median.
    const vs64k = (metric) => (base?.length === runs.length ? median(runs.map((r, i) => r[metric] / base[i][metric])) : undefined);
    const timeVs64k = vs64k('wallS');
    return {
      ...row,
      wallS: summary(runs.map((r) => r.wallS)),
      mibPerS: summary(runs.map((r) => r.mibPerS)),
      cpuSPerGiB: summary(runs.map((r) => r.cpuSPerGiB)),
      rssEndMiB: summary(runs.map((r) => r.rssEndMiB)),
      timeVs64k,
      // The uploading process's own CPU: on a shared machine, steadier than its wall time.
      cpuVs64k: vs64k('cpuSPerGiB'),
      // The fetch rows are the download rows' floor, not under the target themselves.
      holds: timeVs64k === undefined || row.group === 'fetch' ? undefined : timeVs64k <= LIMIT,
      runs,
    };
  });
  const report = { generatedAt: new Date().toISOString(), quick, rounds, size, node: process.version, durationS: Math.round((Date.now() - started) / 100) / 10, limit: LIMIT, results };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const md = renderMarkdown(report);
  writeFileSync(join(outDir, `${stem}.md`), md);
  process.stdout.write(md);
  process.stderr.write(`\nwrote ${join(outDir, `${stem}.json`)} (+ .md) in ${report.durationS} s\n`);
  return report;
}

/** @returns {{ id: string, group: 'download' | 'memory' | 'fetch', chunk: number, label: string }[]} */
function spoolRows(only) {
  const list = [];
  const labels = {
    download: (kib) => `undici download, chunked in ${kib} KiB pieces`,
    memory: (kib) => `in-process Readable, ${kib} KiB chunks`,
    fetch: (kib) => `reference, no upload: the download alone, ${kib} KiB pieces`,
  };
  for (const group of /** @type {const} */ (['download', 'memory', 'fetch'])) {
    for (const kib of [4, 16, 64]) {
      const what = labels[group](kib);
      list.push({ id: `${group}-${kib}k`, group, chunk: kib * KiB, label: what });
    }
  }
  if (only === undefined) return list;
  const wanted = new Set(only.split(','));
  const unknown = [...wanted].filter((id) => !list.some((r) => r.id === id));
  if (unknown.length) throw new Error(`unknown rows: ${unknown.join(', ')} (known: ${list.map((r) => r.id).join(', ')})`);
  return list.filter((r) => wanted.has(r.id));
}

/**
 * `GET /?size=N&chunk=C`: N bytes of the benchmark source without Content-Length, in chunks of C
 * bytes of the chunked transfer encoding, then `connection: close`. A raw `node:net` server
 * writing prebuilt frames (1 MiB of content at a time, paced by the socket's backpressure), so
 * it costs next to nothing and the rows measure the receiving end, not this server: `node:http`
 * writing 4 KiB pieces was the bottleneck of its own benchmark.
 */
export async function serveDownloads(generatedSource) {
  /** @type {Map<number, Buffer>} chunk size → frames of 1 MiB of the source (its period) */
  const blocks = new Map();
  const framed = async (chunk) => {
    if (!blocks.has(chunk)) {
      const frames = [];
      for await (const piece of generatedSource(MiB, chunk)) frames.push(frame(piece));
      blocks.set(chunk, Buffer.concat(frames));
    }
    return /** @type {Buffer} */ (blocks.get(chunk));
  };
  const sockets = new Set();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let head = '';
    const onData = (data) => {
      head += data.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const query = new URL(head.split(' ')[1] ?? '/', 'http://x').searchParams;
      const size = Number(query.get('size'));
      const chunk = Number(query.get('chunk'));
      if (!(size > 0) || !(chunk > 0) || MiB % chunk !== 0) {
        socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      framed(chunk).then((block) => send(socket, size, chunk, block), () => socket.destroy());
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });
  await new Promise((ready) => server.listen(0, '127.0.0.1', () => ready(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  const close = () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
  return { close, url: `http://127.0.0.1:${address.port}/` };

  async function send(socket, size, chunk, block) {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n');
    let sent = 0;
    for (; sent + MiB <= size; sent += MiB) {
      if (!socket.write(block)) await once(socket, 'drain');
      if (socket.destroyed) return;
    }
    // The tail (size not a whole number of MiB): the same content, framed on the fly.
    const tail = [];
    for await (const piece of generatedSource(size - sent, chunk)) tail.push(frame(piece));
    socket.end(Buffer.concat([...tail, Buffer.from('0\r\n\r\n')]));
  }
}

/** One chunk of the chunked transfer encoding. */
function frame(piece) {
  return Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
}

/**
 * The download alone, in a process of its own (this script with --fetch-only): undici's
 * `request`, its body piped into a Writable that drops every chunk. One small download first
 * warms the client, as child.mjs's warm-up does.
 */
function measureFetch(url, chunk, size, env) {
  const child = fork(fileURLToPath(import.meta.url), ['--fetch-only', url, '--chunk', String(chunk), '--size', String(size)], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((done, reject) => {
    let answer;
    child.on('message', (m) => (answer = m));
    child.on('exit', (code) => (answer === undefined ? reject(new Error(`fetch-only exited with ${code}`)) : done(answer)));
  });
}

async function fetchOnly(url, chunk, size) {
  const { request } = await import('undici');
  const { Writable } = await import('node:stream');
  const { pipeline: pipe } = await import('node:stream/promises');
  const once = async (bytes) => {
    const res = await request(`${url}?size=${bytes}&chunk=${chunk}`);
    let got = 0;
    await pipe(res.body, new Writable({ write: (c, _e, cb) => ((got += c.length), cb()) }));
    if (got !== bytes) throw new Error(`fetch-only: got ${got} bytes of ${bytes}`);
  };
  await once(MiB);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await once(size);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { wallS, mibPerS: size / MiB / wallS, cpuSPerGiB: cpuS / (size / (1024 * MiB)), rssEndMiB: Math.round(process.resourceUsage().maxRSS / 102.4) / 10 };
}

function renderMarkdown(report) {
  const f = (x, d = 2) => (x === undefined ? 'n/a' : x.toFixed(d));
  const lines = [
    `Spooled uploads by chunk size: ${report.size / MiB} MiB each, spool memory 8 MiB then disk, c=4, 8 MiB parts, ${report.rounds} round(s), Node ${report.node}.`,
    '',
    '| row | source | wall s (min–max) | MiB/s | time × 64 KiB row | CPU s/GiB | CPU × 64 KiB row | RSS end MiB | time ≤ 1.2× |',
    '|---|---|---:|---:|---:|---:|---:|---:|:---:|',
  ];
  for (const r of report.results) {
    lines.push(
      `| ${r.id} | ${r.label} | ${f(r.wallS.median)} (${f(r.wallS.min)}–${f(r.wallS.max)}) | ${f(r.mibPerS.median, 0)} | ${f(r.timeVs64k)}× | ${f(r.cpuSPerGiB.median)} | ${f(r.cpuVs64k)}× | ${f(r.rssEndMiB.median, 1)} | ${r.holds === undefined ? '–' : r.holds ? 'yes' : '**no**'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url) && process.argv[2] === '--fetch-only') {
  const { values: args } = parseArgs({ args: process.argv.slice(4), options: { chunk: { type: 'string' }, size: { type: 'string' } } });
  fetchOnly(process.argv[3] ?? '', Number(args.chunk), Number(args.size)).then(
    (result) => process.send?.(result, () => process.exit(0)),
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
      out: { type: 'string' },
      name: { type: 'string' },
      dist: { type: 'string' },
    },
  });
  runSpoolChunks({
    quick: args.quick,
    size: args.size === undefined ? undefined : parseSize(args.size),
    rounds: args.rounds === undefined ? undefined : Number(args.rounds),
    only: args.only,
    outDir: args.out,
    stem: args.name,
    dist: args.dist,
  }).catch((error) => {
    process.stderr.write(`\nbenchmark FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
