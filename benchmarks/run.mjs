#!/usr/bin/env node
// The benchmark orchestrator: `npm run bench` (full, 3 rounds, ~5 min on 2 cores) or
// `npm run bench -- --quick` (1 round, small sizes, < 1 min: a smoke check, not numbers).
//
// One sink process; one child process per measurement (benchmarks/child.mjs), rows interleaved
// A B C … A B C …; medians over rounds, spread = (max − min) / median; every figure also as a
// ratio to the ceiling of the same round (the median of those per-round ratios), since absolute
// figures swing ±30 % on shared machines and only ratios of one run count.
//
// Options:
//   --quick                  small sizes, one round; writes results/quick.{json,md,svg}
//   --rounds N               default 3 (1 with --quick)
//   --only id,id,…           run only these rows (the idle baseline always runs)
//   --size 1GiB              the main upload size (default 1GiB; 128MiB with --quick)
//   --out DIR                where results go (default benchmarks/results)
//   --name latest            file name stem of the results (default latest, quick with --quick)
//   --profile id             run that row's child under --cpu-prof --heap-prof (into benchmarks/profiles)
//   --node PATH              run every row's child process on that Node binary (default: the Node
//                            running run.mjs); the orchestrator and the sink stay on this one, so
//                            the receiving end is the same whatever Node the rows run on
//   --links                  instead: uploads over TLS through emulated links (benchmarks/links.mjs),
//                            256 MiB each (--size), rows like far/ours-c4 (--only); writes results/links.*
//   --spool-chunks           instead: a source of unknown size spooled from 4, 16 and 64 KiB chunks
//                            (benchmarks/spool-chunks.mjs), 1 GiB each (--size), rows like
//                            download-16k (--only), --rounds; writes results/spool-chunks.*
//   --ranged                 instead: uploads from S3 (s3rver) and from a URL, read by byte range
//                            against today's stream-through, and behind a link that cuts connections
//                            (benchmarks/ranged-sources.mjs), 256 MiB each (--size), rows like
//                            s3-ranged (--only), --rounds; writes results/ranged.*
//   --baseline-dist DIR      also measure ours-c4-8m-baseline: the row ours-c4-8m of another build
//                            (e.g. a scratch clone's dist/ at an older commit), interleaved with the
//                            others (--only must name it, with the rows to compare it to)
//   --help                   this text
import { execFileSync } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { snapshotDist } from './lib/dist.mjs';
import { forkSink, gitCommit, packageVersion } from './lib/harness.mjs';
import { renderMarkdown, renderSvg } from './lib/report.mjs';
import { formatBytes, generatedSource, parseBytes } from './lib/source.mjs';
import { measureInChild } from './lib/row-child.mjs';
import { median, summary } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MiB = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    size: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    profile: { type: 'string' },
    node: { type: 'string' },
    links: { type: 'boolean', default: false },
    'spool-chunks': { type: 'boolean', default: false },
    ranged: { type: 'boolean', default: false },
    'baseline-dist': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  // The option list is the comment at the top of this file.
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const lines = text.split('\n').slice(1);
  const head = lines.slice(0, lines.findIndex((line) => !line.startsWith('//')));
  process.stdout.write(`${head.map((line) => line.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}
const quick = args.quick;
const rounds = Number(args.rounds ?? (quick ? 1 : 3));
const size = parseBytes(args.size ?? (quick ? '128MiB' : '1GiB'));
const outDir = resolve(args.out ?? join(here, 'results'));
const stem = args.name ?? (quick ? 'quick' : 'latest');
/** The Node binary the rows' children run on, and its version (asked of the binary itself). */
const rowNode = args.node === undefined ? process.execPath : resolve(args.node);
const rowNodeVersion = nodeVersion(rowNode);

/** @param {string} binary */
function nodeVersion(binary) {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch (error) {
    process.stderr.write(`--node ${binary}: cannot run it (${error instanceof Error ? error.message : String(error)})\n`);
    process.exit(2);
  }
}

/**
 * @typedef {{ id: string, label: string, kind: string, size: number, chunk: number, source: 'view' | 'fresh', partSize?: number, concurrency?: number, ratioTo?: string, file?: string, afterOne?: boolean, subscribe?: boolean, baseline?: boolean }} Row
 * @returns {Row[]}
 */
function rows() {
  const K = 1024;
  const ours = (c, ps, extra = {}) => ({
    id: `ours-c${c}-${ps}m${extra.suffix ?? ''}`,
    label: `ofauth-upload-stream c=${c}, ${ps} MiB parts${extra.note ?? ''}`,
    kind: 'ours',
    size: extra.size ?? size,
    chunk: extra.chunk ?? 64 * K,
    source: extra.source ?? 'view',
    partSize: ps * MiB,
    concurrency: c,
    ...(extra.afterOne ? { afterOne: true } : {}),
  });
  /** @type {Row[]} */
  const list = [
    { id: 'ceiling', label: 'ceiling: one undici PUT of the stream', kind: 'ceiling', size, chunk: 64 * K, source: 'view' },
    { id: 'ceiling-16k', label: 'ceiling, 16 KiB chunks', kind: 'ceiling', size, chunk: 16 * K, source: 'view' },
    ours(1, 5),
    ours(1, 8),
    ours(1, 16),
    ours(4, 5),
    ours(4, 8),
    // The same upload with a no-op subscriber on every diagnostics channel (issue 24): what
    // building and publishing the messages costs; ours-c4-8m itself is the cost without one.
    { ...ours(4, 8, { suffix: '-traced', note: ', a no-op subscriber on every diagnostics channel' }), subscribe: true },
    ...(args['baseline-dist'] === undefined ? [] : [{ ...ours(4, 8, { suffix: '-baseline', note: `, the build in ${args['baseline-dist']}` }), baseline: true }]),
    ours(4, 16),
    ours(4, 8, { suffix: '-16k', chunk: 16 * K, note: ', 16 KiB chunks' }),
    // A worker's steady state: the measured upload right after another in the same process,
    // whose part buffers it fills instead of allocating (and first-touching) its own.
    ours(4, 8, { suffix: '-second', afterOne: true, note: ', the second of two back-to-back uploads' }),
    {
      id: 'naive',
      label: 'naive: stream-chunker → sequential PUTs, 8 MiB',
      kind: 'naive',
      size: quick ? 32 * MiB : size,
      chunk: 64 * K,
      source: 'view',
      partSize: 8 * MiB,
      concurrency: 1,
    },
    {
      id: 'lib-storage',
      label: '@aws-sdk/lib-storage Upload, 8 MiB, queueSize 4',
      kind: 'libstorage',
      size,
      chunk: 64 * K,
      source: 'view',
      partSize: 8 * MiB,
      concurrency: 4,
    },
    ours(4, 8, { suffix: '-256mib', size: quick ? 64 * MiB : 256 * MiB, note: `, ${quick ? '64 MiB' : '256 MiB'} upload` }),
    ours(4, 8, { suffix: '-2gib', size: quick ? 512 * MiB : 2048 * MiB, note: `, ${quick ? '512 MiB' : '2 GiB'} upload` }),
    // Unknown size: the library's spool (no size) against writing a temp file by hand and
    // uploading it; both with the same source, c=4 and 8 MiB parts.
    { id: 'spool', label: 'unknown size: spool (memory 8 MiB, then disk) + upload', kind: 'spool', size, chunk: 64 * K, source: 'view', partSize: 8 * MiB, concurrency: 4 },
    { id: 'tempfile', label: 'unknown size by hand: temp file, stat, upload it', kind: 'tempfile', size, chunk: 64 * K, source: 'view', partSize: 8 * MiB, concurrency: 4 },
    // The same pair with a source that allocates every chunk, as fs.createReadStream does.
    { id: 'ceiling-fresh', label: 'ceiling, fresh buffer per chunk', kind: 'ceiling', size, chunk: 64 * K, source: 'fresh' },
    // Its ratios are to ceiling-fresh: the same source.
    { ...ours(4, 8, { suffix: '-fresh', source: 'fresh', note: ', fresh buffer per chunk ²' }), ratioTo: 'ceiling-fresh' },
    // One file on disk (in the page cache), uploaded two ways; uploadFile's ratios are to the stream's.
    { id: 'file-stream', label: 'pipeline(createReadStream, OFAuthUploadStream) of a file, c=4, 8 MiB', kind: 'file-stream', size, chunk: 64 * K, source: 'view', partSize: 8 * MiB, concurrency: 4, file: BENCH_FILE },
    { id: 'file-uploadfile', label: 'uploadFile(path), the same file, c=4, 8 MiB ³', kind: 'file', size, chunk: 64 * K, source: 'view', partSize: 8 * MiB, concurrency: 4, file: BENCH_FILE, ratioTo: 'file-stream' },
  ];  if (args.only === undefined) return list;
  const wanted = new Set(args.only.split(','));
  const picked = list.filter((r) => wanted.has(r.id));
  const unknown = [...wanted].filter((id) => !list.some((r) => r.id === id));
  if (unknown.length) throw new Error(`unknown rows: ${unknown.join(', ')} (known: ${list.map((r) => r.id).join(', ')})`);
  return picked;
}

/** The file the file rows upload: written once per run from the benchmark source, removed at the end. */
const BENCH_FILE = join(os.tmpdir(), `ofauth-bench-${process.pid}.bin`);

const IDLE = /** @type {Row} */ ({ id: 'idle', label: 'idle: library loaded, a few requests made', kind: 'idle', size: 0, chunk: 64 * 1024, source: 'view', partSize: 8 * MiB, concurrency: 4 });

/** @returns {Promise<any>} */
async function sinkStats(url) {
  const res = await fetch(`${url}/_stats`);
  return res.json();
}

/**
 * @param {Row} row
 * @param {string} sinkUrl
 * @param {NodeJS.ProcessEnv} env
 */
function measure(row, sinkUrl, env) {
  const childArgs = ['--kind', row.kind, '--id', row.id, '--size', String(row.size), '--chunk', String(row.chunk), '--source', row.source, '--sink', sinkUrl];
  if (row.partSize) childArgs.push('--part-size', String(row.partSize));
  if (row.concurrency) childArgs.push('--concurrency', String(row.concurrency));
  if (row.file) childArgs.push('--file', row.file);
  if (row.afterOne) childArgs.push('--after-one');
  if (row.subscribe) childArgs.push('--subscribe');
  const execArgv = ['--expose-gc'];
  if (args.profile === row.id) {
    const dir = join(here, 'profiles');
    mkdirSync(dir, { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', dir, '--heap-prof', '--heap-prof-dir', dir);
  }
  return measureInChild(row.id, childArgs, { execPath: rowNode, execArgv, env: row.baseline ? { ...env, BENCH_DIST: baselineDist } : env });
}

function machine() {
  const commit = gitCommit();
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    // The Node the rows ran on; the orchestrator's and the sink's, when it differs.
    node: rowNodeVersion,
    ...(rowNodeVersion === process.version ? {} : { harnessNode: process.version }),
    versions: {
      'ofauth-upload-stream': JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
      undici: packageVersion('undici'),
      '@aws-sdk/lib-storage': packageVersion('@aws-sdk/lib-storage'),
      '@aws-sdk/client-s3': packageVersion('@aws-sdk/client-s3'),
      'stream-chunker': packageVersion('stream-chunker'),
    },
    commit,
  };
}

const METRICS = ['mibPerS', 'wallS', 'cpuSPerGiB', 'rssEndMiB', 'peakMiB', 'rssBeforeMiB', 'rssNowMiB', 'rssGrowthMiB', 'sinkCpuSPerGiB', 'connections', 'requests'];
// Ratios to the ceiling of the same round.
const RATIOS = ['mibPerS', 'cpuSPerGiB', 'rssEndMiB', 'peakMiB'];

/** With --baseline-dist: a private copy of that build, inside benchmarks/ so undici and zod resolve from node_modules. */
let baselineDist;
function snapshotBaseline(from) {
  const source = resolve(from);
  if (!existsSync(join(source, 'index.js'))) throw new Error(`--baseline-dist ${from}: no index.js there (build it first)`);
  const target = join(here, `.dist-baseline-${process.pid}`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  for (const file of readdirSync(source)) if (file.endsWith('.js') || file.endsWith('.js.map')) cpSync(join(source, file), join(target, file));
  return target;
}

async function main() {
  const started = Date.now();
  const dist = snapshotDist(`.dist-snapshot-${process.pid}`);
  if (args['baseline-dist'] !== undefined) baselineDist = snapshotBaseline(args['baseline-dist']);
  const env = { ...process.env, BENCH_DIST: dist };
  const list = rows();
  const all = [IDLE, ...list];
  const sink = await forkSink(env);
  const fileRow = list.find((r) => r.file !== undefined);
  if (fileRow) await pipeline(generatedSource(fileRow.size, 1024 * 1024), createWriteStream(BENCH_FILE));
  /** @type {Record<string, any[]>} */
  const samples = Object.fromEntries(all.map((r) => [r.id, []]));
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const row of all) {
        const t = Date.now();
        const result = await measure(row, sink.url, env);
        samples[row.id].push(result);
        const rate = result.mibPerS === undefined ? '' : `${result.mibPerS.toFixed(0)} MiB/s, `;
        process.stderr.write(
          `[round ${round}/${rounds}] ${row.id.padEnd(18)} ${rate}${result.cpuSPerGiB?.toFixed(2) ?? '-'} CPU-s/GiB, RSS end ${result.rssEndMiB} MiB (${((Date.now() - t) / 1000).toFixed(1)} s)\n`,
        );
      }
    }
    const final = await sinkStats(sink.url);
    if (final.failures.length > 0 || final.openUploads !== 0) {
      throw new Error(`the sink saw ${final.failures.length} byte-accounting failures and ${final.openUploads} unfinished uploads:\n${final.failures.join('\n')}`);
    }
  } finally {
    sink.child.kill();
    rmSync(dist, { recursive: true, force: true });
    if (baselineDist !== undefined) rmSync(baselineDist, { recursive: true, force: true });
    rmSync(BENCH_FILE, { force: true });
  }

  const results = all.map((row) => {
    const runs = samples[row.id];
    const metrics = Object.fromEntries(METRICS.map((m) => [m, summary(runs.map((r) => r[m]))]));
    const ratios = {};
    const ceilingRounds = samples[row.ratioTo ?? 'ceiling'] ?? [];
    if (ceilingRounds.length === runs.length) {
      for (const m of RATIOS) {
        ratios[m] = median(runs.map((r, i) => r[m] / ceilingRounds[i][m]));
      }
    }
    return { ...row, metrics, ratios, runs };
  });
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const report = {
    generatedAt: new Date().toISOString(),
    quick,
    rounds,
    size,
    durationS: Math.round((Date.now() - started) / 100) / 10,
    machine: machine(),
    sink: 'benchmarks/sink.mjs (node:http, drains and counts, stores nothing)',
    results,
    targets: targets(byId, samples),
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, `${stem}.md`), renderMarkdown(report));
  writeFileSync(join(outDir, stem === 'latest' ? 'chart.svg' : `${stem}.svg`), renderSvg(report));
  process.stdout.write(renderMarkdown(report));
  process.stderr.write(`\nwrote ${join(outDir, `${stem}.json`)} (+ .md, chart) in ${report.durationS} s\n`);
}

/**
 * The issue's targets, each from one run: `formal` ones are the issue's (ours at c=4 with 8 MiB
 * parts, and the 256 MiB / 2 GiB pair); the others apply the same limits to every other row of
 * ours, for information. Ratios are per round (row ÷ ceiling of the same round), then the median.
 */
function targets(byId, samples) {
  /** @type {{ name: string, value: string, limit: string, holds: boolean | undefined, formal: boolean }[]} */
  const out = [];
  const perRound = (a, b, m) =>
    samples[a]?.length && samples[b]?.length === samples[a].length
      ? median(samples[a].map((r, i) => r[m] / samples[b][i][m]))
      : undefined;
  const fmt = (x, d = 2) => (x === undefined ? 'n/a' : x.toFixed(d));
  const formalIds = new Set(['ours-c4-8m', 'ours-c4-8m-256mib', 'ours-c4-8m-2gib']);
  const main = 'ours-c4-8m';
  if (byId[main]) {
    const rounds = (samples[main] ?? []).map((r, i) => fmt(r.mibPerS / samples.ceiling?.[i]?.mibPerS)).join(', ');
    const t1 = perRound(main, 'ceiling', 'mibPerS');
    out.push({ name: `${main} throughput vs ceiling (rounds: ${rounds})`, value: `${fmt(t1)}×`, limit: '≥ 0.95×', holds: t1 === undefined ? undefined : t1 >= 0.95, formal: true });
    const t2 = perRound(main, 'lib-storage', 'mibPerS');
    out.push({ name: `${main} throughput vs lib-storage`, value: `${fmt(t2)}×`, limit: '≥ 3×', holds: t2 === undefined ? undefined : t2 >= 3, formal: true });
  }
  const oursIds = Object.keys(byId).filter((id) => id.startsWith('ours-'));
  for (const id of oursIds) {
    const t3 = perRound(id, byId[id].ratioTo ?? 'ceiling', 'cpuSPerGiB');
    out.push({ name: `${id} CPU per GiB vs ${byId[id].ratioTo ?? 'ceiling'}`, value: `${fmt(t3)}×`, limit: '≤ 1.3×', holds: t3 === undefined ? undefined : t3 <= 1.3, formal: id === main });
  }
  // Issue 24: a subscriber's cost (information), and no cost without one (against the build before
  // the channels, when measured): per-round ratios of the two rows, then the median; the bars are
  // this machine's round-to-round noise on a quiet run (about ±5 %).
  const roundsOf = (a, b, m) => (samples[a] ?? []).map((r, i) => fmt(r[m] / samples[b]?.[i]?.[m])).join(', ');
  if (byId[main] && byId[`${main}-traced`]) {
    const traced = `${main}-traced`;
    const t = perRound(traced, main, 'mibPerS');
    out.push({ name: `${traced} throughput vs ${main} (rounds: ${roundsOf(traced, main, 'mibPerS')})`, value: `${fmt(t)}×`, limit: '≥ 0.95×', holds: t === undefined ? undefined : t >= 0.95, formal: false });
    const c = perRound(traced, main, 'cpuSPerGiB');
    out.push({ name: `${traced} CPU per GiB vs ${main} (rounds: ${roundsOf(traced, main, 'cpuSPerGiB')})`, value: `${fmt(c)}×`, limit: '≤ 1.05×', holds: c === undefined ? undefined : c <= 1.05, formal: false });
  }
  if (byId[main] && byId[`${main}-baseline`]) {
    const base = `${main}-baseline`;
    const t = perRound(main, base, 'mibPerS');
    out.push({ name: `${main} throughput vs ${base}, no subscriber (rounds: ${roundsOf(main, base, 'mibPerS')})`, value: `${fmt(t)}×`, limit: '≥ 0.95×', holds: t === undefined ? undefined : t >= 0.95, formal: true });
    const c = perRound(main, base, 'cpuSPerGiB');
    out.push({ name: `${main} CPU per GiB vs ${base}, no subscriber (rounds: ${roundsOf(main, base, 'cpuSPerGiB')})`, value: `${fmt(c)}×`, limit: '≤ 1.05×', holds: c === undefined ? undefined : c <= 1.05, formal: true });
  }
  if (byId['file-uploadfile'] && byId['file-stream']) {
    const t = perRound('file-uploadfile', 'file-stream', 'mibPerS');
    out.push({ name: 'uploadFile throughput vs pipeline(createReadStream, OFAuthUploadStream), same file', value: `${fmt(t)}×`, limit: '≥ 0.95×', holds: t === undefined ? undefined : t >= 0.95, formal: true });
    const c = perRound('file-uploadfile', 'file-stream', 'cpuSPerGiB');
    out.push({ name: 'uploadFile CPU per GiB vs pipeline(createReadStream, OFAuthUploadStream)', value: `${fmt(c)}×`, limit: '≤ 1.1×', holds: c === undefined ? undefined : c <= 1.1, formal: true });
  }
  const idle = byId.idle?.metrics.rssEndMiB.median;
  for (const id of oursIds) {
    const r = byId[id];
    const pool = (1.25 * (r.concurrency + 1) * r.partSize) / MiB;
    const rss = r.metrics.rssEndMiB.median;
    out.push({ name: `${id} RSS at end ≤ idle (${fmt(idle, 1)}) + 1.25·(c+1)·partSize`, value: `${fmt(rss, 1)} MiB`, limit: `≤ ${fmt(idle + pool, 1)} MiB`, holds: rss <= idle + pool, formal: formalIds.has(id) });
    const growth = r.metrics.rssGrowthMiB.median;
    out.push({ name: `${id} RSS growth over its own warmed RSS ≤ 1.25·(c+1)·partSize`, value: `${fmt(growth, 1)} MiB`, limit: `≤ ${fmt(pool, 1)} MiB`, holds: growth <= pool, formal: false });
  }
  if (byId.spool && byId.tempfile) {
    const wall = perRound('spool', 'tempfile', 'wallS');
    const rounds = (samples.spool ?? []).map((r, i) => fmt(r.wallS / samples.tempfile?.[i]?.wallS)).join(', ');
    out.push({ name: `spool wall time vs temp file by hand (rounds: ${rounds})`, value: `${fmt(wall)}×`, limit: '≤ 1.1×', holds: wall === undefined ? undefined : wall <= 1.1, formal: true });
    const r = byId.spool;
    const bound = idle + 8 + (1.25 * (r.concurrency + 1) * r.partSize) / MiB;
    const rss = r.metrics.rssEndMiB.median;
    out.push({ name: `spool RSS at end ≤ idle (${fmt(idle, 1)}) + spool.memory (8) + 1.25·(c+1)·partSize`, value: `${fmt(rss, 1)} MiB`, limit: `≤ ${fmt(bound, 1)} MiB`, holds: rss <= bound, formal: true });
  }
  const small = byId['ours-c4-8m-256mib']?.metrics.rssEndMiB.median;
  const big = byId['ours-c4-8m-2gib']?.metrics.rssEndMiB.median;
  if (small !== undefined && big !== undefined) {
    const diff = (Math.abs(big - small) / small) * 100;
    out.push({
      name: `RSS at end, ${formatBytes(byId['ours-c4-8m-2gib'].size)} vs ${formatBytes(byId['ours-c4-8m-256mib'].size)} upload`,
      value: `${fmt(big, 1)} vs ${fmt(small, 1)} MiB (${fmt(diff, 1)} %)`,
      limit: '≤ 10 %',
      holds: diff <= 10,
      formal: true,
    });
  }
  return out;
}

const start = args.links
  ? () =>
      import('./links.mjs').then(({ runLinks }) =>
        runLinks({
          quick,
          only: args.only,
          size: args.size === undefined ? undefined : size,
          rounds: args.rounds === undefined ? undefined : rounds,
          outDir,
          stem: args.name,
          machine,
        }),
      )
  : args['spool-chunks']
    ? () =>
        import('./spool-chunks.mjs').then(({ runSpoolChunks }) =>
          runSpoolChunks({
            quick,
            only: args.only,
            size: args.size === undefined ? undefined : size,
            rounds: args.rounds === undefined ? undefined : rounds,
            outDir: args.out === undefined ? undefined : outDir,
            stem: args.name,
          }),
        )
    : args.ranged
      ? () =>
          import('./ranged-sources.mjs').then(({ runRangedSources }) =>
            runRangedSources({
              quick,
              only: args.only,
              size: args.size === undefined ? undefined : size,
              rounds: args.rounds === undefined ? undefined : rounds,
              outDir: args.out === undefined ? undefined : outDir,
              stem: args.name,
            }),
          )
      : main;

start().catch((error) => {
  process.stderr.write(`\nbenchmark FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
