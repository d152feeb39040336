#!/usr/bin/env node
// Uploads through OFAuth's per-connection token bucket (issue 21), against the emulator's limiter:
//
//   node benchmarks/rate-limit.mjs [--only A,C] [--real]
//
// A–D are miniatures (2 requests/s, burst 10, 1 MiB parts) so a row takes half a minute; --real
// adds E, the docs' standard plan (60/min, burst 90, 5 MiB parts, 1 GiB: about 2 minutes). Each
// row gets a fresh emulator and a fresh RatePacer, so no row starts with what another learned.
// The emulator runs in this process: the row is bound by the bucket, not by CPU, and its request
// log and stats can be read directly. Rows are merged by id into results/rate-limit.{json,md}, so
// `--only E --real` after a plain run leaves A–D in place. Exits 1 if a stored sha256 differs or
// an upload fails; a missed target is reported, not fatal.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEmulator, loadLibrary, snapshotDist } from './lib/dist.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({ options: { only: { type: 'string' }, real: { type: 'boolean', default: false } } });
const MiB = 1024 * 1024;

// A private copy of dist/: others may rebuild the shared tree during a 2-minute row.
const snapshot = snapshotDist(`.dist-snapshot-${process.pid}`);
process.env.BENCH_DIST = snapshot;
const { startEmulator, pseudoRandomBytes } = await loadEmulator();
const { uploadToVault, RatePacer } = await loadLibrary();

const mini = { perMinute: 120, burst: 10 };
const ROWS = [
  { id: 'A', what: 'miniature, headers: one 60 MiB upload', limit: { ...mini, headers: 'epoch' }, partSize: MiB, uploads: [60 * MiB] },
  { id: 'B', what: 'miniature, headers: three 24 MiB uploads at once, one connection', limit: { ...mini, headers: 'epoch' }, partSize: MiB, uploads: [24 * MiB, 24 * MiB, 24 * MiB] },
  { id: 'C', what: 'miniature, no headers: one 60 MiB upload', limit: { ...mini, headers: 'none' }, partSize: MiB, uploads: [60 * MiB] },
  { id: 'D', what: 'miniature, no headers: three 24 MiB uploads at once, one connection', limit: { ...mini, headers: 'none' }, partSize: MiB, uploads: [24 * MiB, 24 * MiB, 24 * MiB] },
  { id: 'E', what: 'standard plan (60/min, burst 90), headers: one 1 GiB upload', limit: { perMinute: 60, burst: 90, headers: 'epoch' }, partSize: 5 * MiB, uploads: [1024 * MiB], real: true },
];

// What undici handed to the socket for each request, and the status it got: the client's view of
// body bytes sent into a 429 (the emulator never reads a refused body, so it records 0).
const sent = new Map();
const entry = (request) => sent.get(request) ?? sent.set(request, { method: request.method, bytes: 0, status: 0 }).get(request);
diagnostics.subscribe('undici:request:bodyChunkSent', ({ request, chunk }) => {
  entry(request).bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
});
diagnostics.subscribe('undici:request:headers', ({ request, response }) => {
  entry(request).status = response.statusCode;
});

/** `size` bytes of xorshift32 noise in 64 KiB chunks, each seeded by (upload, index): never periodic, so a part sent to the wrong place changes the sha256. */
function source(size, seed, hash) {
  return (async function* () {
    for (let offset = 0, i = 0; offset < size; offset += 64 * 1024, i++) {
      const chunk = pseudoRandomBytes(Math.min(64 * 1024, size - offset), (Math.imul(seed, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0 || 1);
      hash.update(chunk);
      yield chunk;
    }
  })();
}

async function runRow(row) {
  sent.clear();
  const emulator = await startEmulator({ partSize: row.partSize, hashing: 'sha256', rateLimit: row.limit, maxRequestLog: Number.POSITIVE_INFINITY });
  const pacer = new RatePacer();
  const events = { paced: 0, refused: 0 };
  const hashes = row.uploads.map(() => createHash('sha256'));
  const t0 = performance.now();
  try {
    const settled = await Promise.allSettled(row.uploads.map((size, k) =>
      uploadToVault(source(size, row.id.charCodeAt(0) * 16 + k, hashes[k]), {
        apiKey: emulator.apiKey, connectionId: 'conn_bench', baseUrl: emulator.url, filename: `bench-${k}.mp4`, contentType: 'video/mp4',
        size, concurrency: 4, pacer, onRateLimit: (event) => events[event.reason]++,
      })));
    const elapsedS = (performance.now() - t0) / 1000;
    const reqs = emulator.requests;
    const accepted = reqs.filter((r) => r.status !== 429).length;
    const refused = reqs.filter((r) => r.status === 429);
    const ratePerS = row.limit.perMinute / 60;
    const boundS = (accepted - row.limit.burst) / ratePerS;
    const clientRefusedPut = [...sent.values()].filter((s) => s.method === 'PUT' && s.status === 429);
    const uploads = settled.map((s, k) => {
      if (s.status === 'rejected') return { size: row.uploads[k], error: String(s.reason?.stack ?? s.reason) };
      const stored = emulator.media(s.value.mediaUploadId);
      const expected = hashes[k].digest('hex');
      return { size: row.uploads[k], completed: stored?.completed === true, sha256Match: stored?.completed === true && stored.sha256 === expected, expected, stored: stored?.sha256, rateLimit: s.value.rateLimit };
    });
    return {
      id: row.id, what: row.what, limit: row.limit, partSizeMiB: row.partSize / MiB, concurrency: 4, uploadsMiB: row.uploads.map((b) => b / MiB),
      requests: reqs.length, accepted, refusals: refused.length, refusedPct: (100 * refused.length) / reqs.length,
      statsRateLimited: emulator.stats.rateLimited, boundS, elapsedS, ratio: boundS / elapsedS,
      refusedBodyBytesEmulator: refused.filter((r) => r.route === 'part').reduce((n, r) => n + r.bytesReceived, 0),
      refusedBodyBytesClient: clientRefusedPut.reduce((n, s) => n + s.bytes, 0),
      refusedPutsClient: clientRefusedPut.length,
      // Every PUT body byte undici wrote: the upload's size plus the refused bodies, if the hook saw everything.
      putBodyBytesClient: [...sent.values()].filter((s) => s.method === 'PUT').reduce((n, s) => n + s.bytes, 0),
      // When each refusal came and to what: the first place to look when a target is missed.
      refusalLog: refused.map((r) => ({ atS: Number(((r.startedAt - reqs[0].startedAt) / 1000).toFixed(2)), route: r.route, part: r.partNumber })),
      events, learned: pacer.estimate, uploads, intact: uploads.every((u) => u.sha256Match),
      date: new Date().toISOString(), node: process.version, commit: meta.commit, run: meta.run,
    };
  } finally {
    await emulator.close();
  }
}

function targets(r) {
  const t = [];
  const add = (name, value, limit, holds) => t.push({ row: r.id, name, value, limit, holds });
  add('every stored sha256 equals the source\'s', `${r.uploads.filter((u) => u.sha256Match).length} of ${r.uploads.length}`, 'all', r.intact);
  if (r.limit.headers !== 'none' && !r.id.startsWith('E')) {
    add('bound / elapsed (elapsed ≤ bound / 0.9)', `${r.ratio.toFixed(3)} (${r.elapsedS.toFixed(1)} s vs ${(r.boundS / 0.9).toFixed(1)} s)`, '≥ 0.90', r.ratio >= 0.9);
    add('part-body bytes into 429s, emulator', String(r.refusedBodyBytesEmulator), `≤ ${r.partSizeMiB * MiB}`, r.refusedBodyBytesEmulator <= r.partSizeMiB * MiB);
    add('part-body bytes into 429s, client (handed to the socket)', String(r.refusedBodyBytesClient), `≤ ${r.partSizeMiB * MiB}`, r.refusedBodyBytesClient <= r.partSizeMiB * MiB);
  } else if (r.limit.headers === 'none') {
    add('bound / elapsed', r.ratio.toFixed(3), '≥ 0.80', r.ratio >= 0.8);
    add('requests refused', `${r.refusedPct.toFixed(1)} % (${r.refusals} of ${r.requests})`, '≤ 5 %', r.refusedPct <= 5);
  }
  return t;
}

const f = (x, d) => x.toFixed(d);
function markdown(rows) {
  const lines = [
    ...[...new Set(rows.map((r) => r.run))].map((run) => `Rows ${rows.filter((r) => r.run === run).map((r) => r.id).join(', ')}: ${run}.`), '',
    '| row | limit | part | uploads | requests | accepted | 429 | refused % | bound s | elapsed s | bound / elapsed | part-body bytes into 429s: emulator / client | sha256 |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
  ];
  for (const r of rows) {
    const limit = `${r.limit.perMinute}/min, burst ${r.limit.burst}, headers ${r.limit.headers}`;
    lines.push(`| ${r.id}: ${r.what} | ${limit} | ${r.partSizeMiB} MiB | ${r.uploadsMiB.map((m) => `${m} MiB`).join(' + ')}, c=4 | ${r.requests} | ${r.accepted} | ${r.refusals} | ${f(r.refusedPct, 1)} | ${f(r.boundS, 1)} | ${f(r.elapsedS, 1)} | ${f(r.ratio, 3)} | ${r.refusedBodyBytesEmulator} / ${r.refusedBodyBytesClient} | ${r.intact ? 'match' : '**MISMATCH**'} |`);
  }
  lines.push('', '| row | target | measured | limit | holds |', '|---|---|---:|---:|:---:|');
  for (const t of rows.flatMap(targets)) lines.push(`| ${t.row} | ${t.name} | ${t.value} | ${t.limit} | ${t.holds ? 'yes' : '**no**'} |`);
  return `${lines.join('\n')}\n`;
}

function commit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', '../lib'], { cwd: here, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted lib/ changes` : head;
  } catch {
    return 'unknown';
  }
}

const meta = { date: new Date().toISOString(), node: process.version, commit: commit() };
meta.run = `run ${meta.date.slice(0, 16).replace('T', ' ')} UTC, Node ${meta.node}, commit ${meta.commit}`;
const only = args.only?.split(',').map((s) => s.trim().toUpperCase());
const chosen = ROWS.filter((r) => (only ? only.includes(r.id) : true) && (!r.real || args.real));
if (chosen.length === 0) throw new Error(`no rows chosen (--only ${args.only ?? ''}${args.real ? '' : ', E needs --real'})`);

let failed = false;
const measured = [];
try {
  for (const row of chosen) {
    process.stderr.write(`row ${row.id}: ${row.what}…\n`);
    const r = await runRow(row);
    measured.push(r);
    for (const u of r.uploads) if (u.error) process.stderr.write(`  upload failed: ${u.error}\n`);
    if (!r.intact) failed = true;
    process.stderr.write(`  ${r.requests} requests, ${r.refusals} refused, ${f(r.elapsedS, 1)} s (bound ${f(r.boundS, 1)} s), learned ${JSON.stringify(r.learned)}\n`);
  }
} finally {
  rmSync(snapshot, { recursive: true, force: true });
}

const jsonPath = join(here, 'results', 'rate-limit.json');
const previous = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')).rows : [];
const rows = [...previous.filter((p) => !measured.some((m) => m.id === p.id)), ...measured]
  .sort((a, b) => a.id.localeCompare(b.id));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
writeFileSync(join(here, 'results', 'rate-limit.md'), markdown(rows));
process.stdout.write(markdown(measured));
if (failed) {
  process.stderr.write('FAILED: an upload failed or a stored sha256 differs from the source\'s\n');
  process.exitCode = 1;
}
