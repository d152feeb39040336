#!/usr/bin/env node
// One upload of a generated source to the real emulator, end to end:
//
//   node benchmarks/emulator-upload.mjs [--size 1GiB] [--part-size 8MiB] [--concurrency 4]
//                                       [--chunk 64KiB] [--source view|fresh]
//
// The emulator (dist/emulator.js) runs in its own child process and the uploader in another
// (benchmarks/child.mjs --kind ours), so the RSS printed is the uploader's alone. The expected
// sha256 of the source is computed here first; the emulator's stored sha256 must equal it, or
// the script fails. Prints MiB/s, CPU, the uploader's RSS at the end of the transfer and its
// whole-process peak.
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEmulator, snapshotDist } from './lib/dist.mjs';
import { expectedSha256, formatBytes, parseBytes } from './lib/source.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'part-size': { type: 'string', default: '8MiB' },
    concurrency: { type: 'string', default: '4' },
    chunk: { type: 'string', default: '64KiB' },
    source: { type: 'string', default: 'view' },
    json: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false }, // internal: the emulator child
  },
});
const size = parseBytes(args.size);
const partSize = parseBytes(args['part-size']);

if (args.serve) {
  // The emulator child: start, say where, answer questions about uploads over IPC.
  const { startEmulator } = await loadEmulator();
  const emulator = await startEmulator({ partSize });
  process.send({ url: emulator.url, apiKey: emulator.apiKey });
  process.on('message', async (message) => {
    if (message.media !== undefined) {
      const media = emulator.media(message.media);
      const cpu = process.cpuUsage();
      process.send({
        media: media && { size: media.size, completed: media.completed, sha256: media.sha256, parts: media.parts.length, uploadType: media.uploadType },
        stats: emulator.stats,
        cpuS: (cpu.user + cpu.system) / 1e6,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
      });
    }
    if (message.close) {
      await emulator.close();
      process.exit(0);
    }
  });
} else {
  await main();
}

/** @param {import('node:child_process').ChildProcess} child */
function nextMessage(child) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`child exited with ${code} before answering`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m);
    });
  });
}

async function main() {
  const dist = snapshotDist(`.dist-snapshot-${process.pid}`);
  const env = { ...process.env, BENCH_DIST: dist };
  process.stderr.write(`computing the sha256 of ${formatBytes(size)} of source…\n`);
  const expected = expectedSha256(size);

  const emulator = fork(fileURLToPath(import.meta.url), ['--serve', '--part-size', String(partSize)], {
    env,
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { url, apiKey } = /** @type {any} */ (await nextMessage(emulator));
    const uploader = fork(
      join(here, 'child.mjs'),
      ['--kind', 'ours', '--id', 'emulator-upload', '--size', String(size), '--part-size', String(partSize),
        '--concurrency', args.concurrency, '--chunk', args.chunk, '--source', args.source,
        '--base-url', url, '--api-key', apiKey, '--filename', 'bench.mp4', '--content-type', 'video/mp4'],
      { env, execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const answer = /** @type {any} */ (await nextMessage(uploader));
    if (!answer.ok) throw new Error(`upload failed: ${answer.error}`);
    const r = answer.result;
    emulator.send({ media: r.detail.mediaUploadId });
    const stored = /** @type {any} */ (await nextMessage(emulator));
    const ok = stored.media?.completed === true && stored.media.size === size && stored.media.sha256 === expected;
    const summary = {
      size,
      partSize,
      concurrency: Number(args.concurrency),
      chunk: parseBytes(args.chunk),
      source: args.source,
      mibPerS: Math.round(r.mibPerS),
      wallS: Number(r.wallS.toFixed(2)),
      cpuSPerGiB: Number(r.cpuSPerGiB.toFixed(2)),
      uploaderRssBeforeMiB: r.rssBeforeMiB,
      uploaderRssEndMiB: r.rssEndMiB,
      uploaderPeakMiB: r.peakMiB,
      peakReset: r.peakReset,
      parts: r.detail.parts,
      sha256: { expected, stored: stored.media?.sha256, match: ok },
      emulator: {
        maxConcurrentPuts: stored.stats.maxConcurrentPuts,
        maxHeldMiB: Math.round((stored.stats.maxHeldBytes / 1024 / 1024) * 10) / 10,
        cpuS: Number(stored.cpuS.toFixed(2)),
        maxRssMiB: Math.round(stored.maxRssMiB),
      },
      node: process.version,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `emulator upload: ${formatBytes(size)}, ${formatBytes(partSize)} parts (${summary.parts}), concurrency ${summary.concurrency}, ${formatBytes(summary.chunk)} chunks (${args.source} source)`,
          `  throughput      ${summary.mibPerS} MiB/s (${summary.wallS} s)`,
          `  uploader CPU    ${summary.cpuSPerGiB} s/GiB`,
          `  uploader RSS    ${summary.uploaderRssEndMiB} MiB peak during the transfer (${summary.uploaderRssBeforeMiB} MiB before it), ${summary.uploaderPeakMiB} MiB whole process`,
          `  emulator        ${summary.emulator.maxConcurrentPuts} PUTs at most in flight, ${summary.emulator.maxHeldMiB} MiB held for in-order hashing, ${summary.emulator.cpuS} CPU-s`,
          `  sha256          ${ok ? 'match' : 'MISMATCH'} ${expected}${ok ? '' : ` (stored ${stored.media?.sha256}, size ${stored.media?.size}, completed ${stored.media?.completed})`}`,
          '',
        ].join('\n'),
      );
    }
    if (!ok) process.exitCode = 1;
  } finally {
    emulator.send({ close: true });
    rmSync(dist, { recursive: true, force: true });
  }
}
