// `npm run bench -- --links`: uploads over TLS through emulated links (benchmarks/lib/link.mjs),
// the way users upload: to a server 1–150 ms away, where one TCP flow gets only part of the line.
//
// Processes: the sink (HTTPS with a certificate made for this run, content checked), the link
// emulator (one link per profile, in front of the sink's HTTPS port), and one child per
// measurement (benchmarks/child.mjs), which trusts the certificate through its own client
// options and opens its connections cold, as a fresh process would.
//
// Options (after --links): --only id,id (e.g. far/ours-c4), --size 256MiB, --rounds N (every
// row), --out DIR, --name links, --quick (32 MiB, lan and cloud only, one round: a smoke check).
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotDist } from './lib/dist.mjs';
import { PROFILES, linkBound } from './lib/link.mjs';
import { renderLinksMarkdown, renderLinksSvg } from './lib/links-report.mjs';
import { formatBytes } from './lib/source.mjs';
import { measureInChild } from './lib/row-child.mjs';
import { summary } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;

/**
 * Mean client→server bytes between cuts on the `far-cuts` link, and the seed of its schedule,
 * restarted for every upload. Seed 11 puts its cuts at 46, 94, 154 and 211 MiB: four in the
 * first 256 MiB, the mean rate (most seeds give 3–6; seed 13 clustered six between 82 and 99).
 */
export const CUT_EVERY_BYTES = 64 * MiB;
const CUT_SEED = 11;

/**
 * @typedef {{ rttMs: number, aggregateBytesPerS?: number, perConnectionBytesPerS?: number, cutEveryBytes?: number }} Profile
 * @typedef {{ id: string, profile: string, key: string, label: string, kind: 'ceiling' | 'ours' | 'libstorage', concurrency: number, rounds: number }} LinkRow
 */

/** @type {Record<string, Profile>} */
export const LINK_PROFILES = {
  lan: PROFILES.lan,
  cloud: PROFILES.cloud,
  far: PROFILES.far,
  'far-cuts': { ...PROFILES.far, cutEveryBytes: CUT_EVERY_BYTES },
};

/**
 * Rounds: three where a row takes a few seconds, fewer where it takes a minute; the rows the
 * targets are about (ours at c=4 and c=8 on capped links) get at least two.
 * @param {number} expectedS
 * @param {boolean} key
 */
function roundsFor(expectedS, key) {
  const n = expectedS <= 5 ? 3 : expectedS <= 12 ? 2 : 1;
  return key ? Math.max(n, 2) : n;
}

/** @returns {LinkRow[]} */
function linkRows({ size, quick, only, rounds }) {
  const profiles = quick ? ['lan', 'cloud'] : ['lan', 'cloud', 'far', 'far-cuts'];
  /** @type {LinkRow[]} */
  const list = [];
  for (const profile of profiles) {
    const p = LINK_PROFILES[profile];
    const cuts = p.cutEveryBytes !== undefined;
    /** @type {Array<[string, string, LinkRow['kind'], number]>} */
    const specs = cuts
      ? [['ours-c4', 'ours c=4', 'ours', 4], ['ours-c8', 'ours c=8', 'ours', 8]]
      : [
          ['put', 'one undici PUT of the stream', 'ceiling', 1],
          ['ours-c1', 'ours c=1', 'ours', 1],
          ['ours-c4', 'ours c=4', 'ours', 4],
          ['ours-c8', 'ours c=8', 'ours', 8],
          ['ls-q4', 'lib-storage q=4', 'libstorage', 4],
          ['ls-q8', 'lib-storage q=8', 'libstorage', 8],
        ];
    for (const [key, label, kind, concurrency] of specs) {
      const bound = linkBound(p, concurrency);
      // lib-storage waits a round trip for `100 Continue` on every part: count it slower.
      const expectedS = Number.isFinite(bound) ? (size / bound) * (kind === 'libstorage' ? 1.2 : 1) : 1.5;
      const isKey = kind === 'ours' && concurrency > 1 && Number.isFinite(bound) && !cuts;
      list.push({
        id: `${profile}/${key}`,
        profile,
        key,
        label,
        kind,
        concurrency,
        rounds: rounds ?? (quick ? 1 : cuts ? 1 : roundsFor(expectedS, isKey)),
      });
    }
  }
  if (only === undefined) return list;
  const wanted = new Set(only.split(','));
  const unknown = [...wanted].filter((id) => !list.some((r) => r.id === id));
  if (unknown.length) throw new Error(`unknown rows: ${unknown.join(', ')} (known: ${list.map((r) => r.id).join(', ')})`);
  return list.filter((r) => wanted.has(r.id));
}

/** A certificate for 127.0.0.1, made for this run only. */
async function makeCertificate(dir) {
  const { default: selfsigned } = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  writeFileSync(key, pems.private, { mode: 0o600 });
  writeFileSync(cert, pems.cert);
  return { key, cert };
}

/** @returns {Promise<{ child: import('node:child_process').ChildProcess, ready: any }>} */
function forkReady(script, argv, env) {
  const child = fork(join(here, script), argv, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env });
  return new Promise((resolve, reject) => {
    child.once('message', (ready) => resolve({ child, ready }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** One request to the link process, answered with the same id. */
function ask(link, message) {
  const id = Math.random();
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m?.id !== id) return;
      link.off('message', onMessage);
      resolve(m);
    };
    link.on('message', onMessage);
    link.send(message.stats === undefined ? { ...message, id } : { stats: id });
  });
}

/** The link process's counters, per profile, and its CPU seconds. */
const linkStats = async (link) => {
  const answer = await ask(link, { stats: true });
  return { ...answer.stats, cpuS: answer.cpuS };
};

/** @returns {Promise<any>} */
async function sinkStats(url) {
  return (await fetch(`${url}/_stats`)).json();
}

/** One measurement in its own process. */
function measure(row, { size, partSize, sinkPlain, sinkTls, linkUrl, caFile }, env) {
  const childArgs = [
    '--kind', row.kind, '--id', row.id, '--size', String(size), '--chunk', String(64 * 1024),
    '--part-size', String(partSize), '--concurrency', String(row.concurrency),
    '--sink', linkUrl, '--warm-sink', sinkTls, '--control', sinkPlain, '--ca', caFile, '--cold',
  ];
  return measureInChild(row.id, childArgs, { execArgv: ['--expose-gc'], env });
}

const METRICS = ['mibPerS', 'wallS', 'cpuSPerGiB', 'sinkCpuSPerGiB', 'linkCpuSPerGiB', 'rssEndMiB', 'rssGrowthMiB', 'peakMiB', 'connections', 'linkConnections', 'retried', 'cuts'];

/**
 * @param {{ quick: boolean, only?: string, size?: number, rounds?: number, outDir: string, stem?: string, machine: () => any }} options
 */
export async function runLinks(options) {
  const started = Date.now();
  const size = options.size ?? (options.quick ? 32 * MiB : 256 * MiB);
  const partSize = 8 * MiB;
  const stem = options.stem ?? (options.quick ? 'links-quick' : 'links');
  const rows = linkRows({ size, quick: options.quick, only: options.only, rounds: options.rounds });
  const dist = snapshotDist(`.dist-snapshot-${process.pid}`);
  const env = { ...process.env, BENCH_DIST: dist, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const tmp = mkdtempSync(join(tmpdir(), 'ofauth-links-'));
  /** @type {import('node:child_process').ChildProcess[]} */
  const processes = [];
  /** @type {Record<string, any[]>} */
  const samples = Object.fromEntries(rows.map((r) => [r.id, []]));
  let final;
  try {
    const certificate = await makeCertificate(tmp);
    const sink = await forkReady('sink.mjs', ['--tls-key', certificate.key, '--tls-cert', certificate.cert], env);
    processes.push(sink.child);
    const { url: sinkPlain, tlsUrl, tlsCutsUrl } = sink.ready;
    const profilesUsed = [...new Set(rows.map((r) => r.profile))];
    const linkConfig = Object.fromEntries(
      profilesUsed.map((name) => {
        const p = LINK_PROFILES[name];
        const target = new URL(p.cutEveryBytes === undefined ? tlsUrl : tlsCutsUrl);
        return [name, { ...p, target: { port: Number(target.port) }, seed: CUT_SEED, lifetimeMs: 20 * 60_000 }];
      }),
    );
    const link = await forkReady('link-process.mjs', [JSON.stringify(linkConfig)], env);
    processes.push(link.child);
    const maxRounds = Math.max(...rows.map((r) => r.rounds));
    for (let round = 1; round <= maxRounds; round++) {
      for (const row of rows) {
        if (row.rounds < round) continue;
        const t = Date.now();
        // Every upload over the cut link meets the same cut schedule (in bytes).
        if (LINK_PROFILES[row.profile].cutEveryBytes !== undefined) await ask(link.child, { reseed: row.profile, seed: CUT_SEED });
        const beforeAll = await linkStats(link.child);
        const before = beforeAll[row.profile];
        const result = await measure(
          row,
          { size, partSize, sinkPlain, sinkTls: tlsUrl, linkUrl: `https://127.0.0.1:${link.ready.ports[row.profile]}`, caFile: certificate.cert },
          env,
        );
        const afterAll = await linkStats(link.child);
        const after = afterAll[row.profile];
        result.linkConnections = after.connections - before.connections;
        // The emulator's own CPU: if it ever nears a core, the link, not the client, is the limit.
        result.linkCpuSPerGiB = (afterAll.cpuS - beforeAll.cpuS) / (size / 1024 ** 3);
        result.cuts = after.cuts - before.cuts;
        result.retried = result.requests - (result.detail?.expectedRequests ?? result.requests);
        samples[row.id].push(result);
        process.stderr.write(
          `[round ${round}/${maxRounds}] ${row.id.padEnd(18)} ${result.mibPerS.toFixed(1)} MiB/s, ${result.linkConnections} conns, ` +
            `${result.cuts} cuts, ${result.retried} retried, ${result.cpuSPerGiB.toFixed(2)} CPU-s/GiB (sink ${result.sinkCpuSPerGiB?.toFixed(2)}, link ${result.linkCpuSPerGiB.toFixed(2)}), RSS end ${result.rssEndMiB} MiB ` +
            `(${((Date.now() - t) / 1000).toFixed(1)} s; ${((Date.now() - started) / 1000).toFixed(0)} s so far)\n`,
        );
      }
    }
    final = await sinkStats(sinkPlain);
    if (final.failures.length > 0 || final.openUploads !== 0) {
      throw new Error(`the sink saw ${final.failures.length} failures and ${final.openUploads} unfinished uploads:\n${final.failures.join('\n')}`);
    }
  } finally {
    for (const p of processes) p.kill();
    rmSync(dist, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }

  const results = rows.map((row) => {
    const runs = samples[row.id];
    const p = LINK_PROFILES[row.profile];
    const bound = linkBound(p, row.concurrency);
    const metrics = Object.fromEntries(METRICS.map((m) => [m, summary(runs.map((r) => r[m]))]));
    const ofBound = Number.isFinite(bound) ? summary(runs.map((r) => (r.mibPerS * MiB) / bound)) : undefined;
    return { ...row, size, partSize, boundMiBPerS: Number.isFinite(bound) ? bound / MiB : undefined, metrics, ofBound, runs };
  });
  const report = {
    generatedAt: new Date().toISOString(),
    quick: options.quick,
    size,
    partSize,
    profiles: Object.fromEntries(Object.entries(LINK_PROFILES).filter(([name]) => rows.some((r) => r.profile === name))),
    durationS: Math.round((Date.now() - started) / 100) / 10,
    machine: options.machine(),
    sink: { checkedBytes: final.checkedBytes, cutBodies: final.cutBodies, tlsConnections: final.tlsConnections, verified: final.verified },
    results,
    targets: linkTargets(results),
  };
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(options.outDir, `${stem}.md`), renderLinksMarkdown(report));
  writeFileSync(join(options.outDir, `${stem}.svg`), renderLinksSvg(report));
  process.stdout.write(renderLinksMarkdown(report));
  process.stderr.write(`\nwrote ${join(options.outDir, `${stem}.json`)} (+ .md, .svg) in ${report.durationS} s (${formatBytes(size)} per upload)\n`);
  return report;
}

/**
 * The issue's targets, each from this run (medians over the row's rounds; connection counts
 * use the worst round).
 */
function linkTargets(results) {
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  /** @type {{ name: string, value: string, limit: string, holds: boolean | undefined }[]} */
  const out = [];
  const f = (x, d = 2) => (x === undefined ? 'n/a' : x.toFixed(d));
  const med = (id, m) => byId[id]?.metrics[m].median;
  for (const profile of ['cloud', 'far']) {
    for (const c of [4, 8]) {
      const r = byId[`${profile}/ours-c${c}`];
      if (r === undefined) continue;
      const v = r.ofBound.median;
      out.push({ name: `${profile}: ours c=${c} throughput of the bound (${f(r.boundMiBPerS, 0)} MiB/s)`, value: `${f(v)}×`, limit: '≥ 0.90×', holds: v >= 0.9 });
    }
  }
  for (const profile of ['lan', 'cloud', 'far']) {
    for (const c of [1, 4, 8]) {
      const r = byId[`${profile}/ours-c${c}`];
      if (r === undefined) continue;
      const worst = r.metrics.linkConnections.max;
      out.push({ name: `${profile}: ours c=${c} TLS connections per upload (worst round)`, value: f(worst, 0), limit: `≤ ${c + 1}`, holds: worst <= c + 1 });
    }
  }
  for (const profile of ['lan', 'cloud', 'far']) {
    for (const c of [4, 8]) {
      const ours = `${profile}/ours-c${c}`;
      const ls = `${profile}/ls-q${c}`;
      if (byId[ours] === undefined || byId[ls] === undefined) continue;
      const t = med(ours, 'mibPerS') / med(ls, 'mibPerS');
      out.push({ name: `${profile}: ours c=${c} vs lib-storage q=${c}, throughput`, value: `${f(t)}×`, limit: '≥ 1.00×', holds: t >= 1 });
      const oc = byId[ours].metrics.linkConnections.max;
      const lc = byId[ls].metrics.linkConnections.min;
      out.push({ name: `${profile}: ours c=${c} vs lib-storage q=${c}, TLS connections (our worst, its best)`, value: `${f(oc, 0)} vs ${f(lc, 0)}`, limit: 'fewer', holds: oc < lc });
      const cpu = med(ours, 'cpuSPerGiB') / med(ls, 'cpuSPerGiB');
      out.push({ name: `${profile}: ours c=${c} vs lib-storage q=${c}, CPU per GiB`, value: `${f(cpu)}×`, limit: '≤ 0.50×', holds: cpu <= 0.5 });
    }
  }
  for (const c of [4, 8]) {
    const cut = byId[`far-cuts/ours-c${c}`];
    if (cut === undefined) continue;
    const uploads = cut.runs.length;
    const intact = cut.runs.filter((r) => r.detail?.parts !== undefined).length;
    const retried = cut.runs.map((r) => r.retried).join(', ');
    const cuts = cut.runs.map((r) => r.cuts).join(', ');
    out.push({
      name: `far with cuts: ours c=${c}, uploads complete and intact (cuts: ${cuts}; parts retried: ${retried})`,
      value: `${intact} of ${uploads}`,
      limit: 'all',
      holds: intact === uploads,
    });
    const plain = byId[`far/ours-c${c}`];
    if (plain !== undefined) {
      const lost = 1 - cut.metrics.mibPerS.median / plain.metrics.mibPerS.median;
      out.push({ name: `far with cuts: ours c=${c}, throughput lost to the cuts (vs far)`, value: `${f(lost * 100, 1)} %`, limit: 'reported', holds: undefined });
    }
  }
  return out;
}
