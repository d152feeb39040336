// Smoke test of the benchmark harness (benchmarks/): the sink's byte accounting, and one tiny
// run of the orchestrator end to end. Needs dist/ (npm test builds it first).
import { SKIP_BUT_ONCE_IN_CI } from './helpers';
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface SinkStats {
  verified: number;
  verifiedBytes: number;
  failures: string[];
  openUploads: number;
  connections: number;
}

describe('benchmark sink', () => {
  let sink: ChildProcess;
  let url: string;
  const auth = { apikey: 'k', 'x-connection-id': 'c' };

  beforeAll(async () => {
    sink = fork(join(root, 'benchmarks', 'sink.mjs'), [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    url = await new Promise<string>((resolve, reject) => {
      sink.once('message', (m) => resolve((m as { url: string }).url));
      sink.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
    });
  });
  afterAll(() => {
    sink.kill();
  });

  const stats = async (): Promise<SinkStats> => (await fetch(`${url}/_stats`)).json() as Promise<SinkStats>;
  const put = (target: string, body: Uint8Array, headers: Record<string, string> = {}) =>
    fetch(target, { method: 'PUT', body, headers: { ...auth, ...headers } });

  it('accepts an upload that delivers exactly its declared bytes, cut by the part size in the filename', async () => {
    const before = await stats();
    const init = await fetch(`${url}/v2/access/uploads/init`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ filename: 'bench-1024.bin', size: 2500, contentType: 'application/octet-stream' }),
    });
    const plan = (await init.json()) as {
      mediaUploadId: string;
      partSize: number;
      parts: { uploadUrl: string; byteRange: { start: number; end: number } }[];
      completeUrl: string;
    };
    expect(plan.partSize).toBe(1024);
    expect(plan.parts.map((p) => p.byteRange)).toEqual([
      { start: 0, end: 1023 },
      { start: 1024, end: 2047 },
      { start: 2048, end: 2499 },
    ]);
    for (const part of plan.parts) {
      const res = await put(part.uploadUrl, new Uint8Array(part.byteRange.end - part.byteRange.start + 1));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const done = await fetch(plan.completeUrl, { method: 'POST', headers: auth, body: JSON.stringify({ mediaUploadId: plan.mediaUploadId }) });
    expect(done.status).toBe(200);
    expect(((await done.json()) as { media: { id: string } }).media.id).toBeTruthy();
    const after = await stats();
    expect(after.verified - before.verified).toBe(1);
    expect(after.verifiedBytes - before.verifiedBytes).toBe(2500);
    expect(after.failures).toEqual(before.failures);
  });

  it('records a wrong part length, an early complete and a short raw body as failures', async () => {
    const before = await stats();
    const init = await fetch(`${url}/v2/access/uploads/init`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ filename: 'bench-1000.bin', size: 2000, contentType: 'application/octet-stream' }),
    });
    const plan = (await init.json()) as { mediaUploadId: string; parts: { uploadUrl: string }[]; completeUrl: string };
    const wrong = await put(plan.parts[0]!.uploadUrl, new Uint8Array(999));
    expect(wrong.status).toBe(400);
    await wrong.arrayBuffer();
    const early = await fetch(plan.completeUrl, { method: 'POST', headers: auth, body: JSON.stringify({ mediaUploadId: plan.mediaUploadId }) });
    expect(early.status).toBe(400);
    await early.arrayBuffer();
    const raw = await put(`${url}/raw/x`, new Uint8Array(100), { 'x-bench-size': '101' });
    expect(raw.status).toBe(400);
    await raw.arrayBuffer();
    const after = await stats();
    expect(after.failures.length - before.failures.length).toBe(3);
    expect(after.verifiedBytes).toBe(before.verifiedBytes);
  });
});

describe.skipIf(SKIP_BUT_ONCE_IN_CI)('benchmark orchestrator', () => {
  const out = mkdtempSync(join(tmpdir(), 'ofauth-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs the idle baseline, the ceiling and one row of ours on the --node binary, and writes the report', { timeout: 25_000 }, async () => {
    // A stand-in for another Node: it logs how it was started, then runs this one.
    const log = join(out, 'node.log');
    const node = join(out, 'node');
    writeFileSync(node, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
    await run(process.execPath, [
      join(root, 'benchmarks', 'run.mjs'),
      '--only', 'ceiling,ours-c4-8m,spool,tempfile',
      '--size', '16MiB',
      '--rounds', '1',
      '--out', out,
      '--name', 'smoke',
      '--node', node,
    ], { cwd: root, timeout: 24_000 });
    const started = readFileSync(log, 'utf8').trim().split('\n');
    expect(started[0]).toBe('--version');
    // Every row's child, and nothing else (the sink stays on the orchestrator's Node).
    expect(started.slice(1).map((line) => /child\.mjs --kind (\w+)/.exec(line)?.[1])).toEqual(['idle', 'ceiling', 'ours', 'spool', 'tempfile']);
    const report = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8'));
    expect(report.machine).toMatchObject({ node: process.version, cores: expect.any(Number) });
    expect(new Set(report.results.map((r: { runs: Array<{ node: string }> }) => r.runs[0]!.node))).toEqual(new Set([process.version]));
    expect(report.results.map((r: { id: string }) => r.id)).toEqual(['idle', 'ceiling', 'ours-c4-8m', 'spool', 'tempfile']);
    const ours = report.results[2];
    expect(ours).toMatchObject({ kind: 'ours', size: 16 * 1024 * 1024, partSize: 8 * 1024 * 1024, concurrency: 4 });
    for (const metric of ['mibPerS', 'wallS', 'cpuSPerGiB', 'rssEndMiB', 'peakMiB']) {
      expect(ours.metrics[metric].median, metric).toBeGreaterThan(0);
    }
    expect(ours.ratios.mibPerS).toBeGreaterThan(0);
    expect(ours.runs[0].detail.parts).toBe(2);
    expect(report.targets.length).toBeGreaterThan(0);
    // The unknown-size pair: both uploaded every byte (the sink counted them), and are compared.
    for (const id of ['spool', 'tempfile']) expect(report.results.find((r: { id: string }) => r.id === id).runs[0].detail.parts).toBe(2);
    expect(report.targets.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^spool wall time vs temp file by hand/)]));
    expect(readFileSync(join(out, 'smoke.md'), 'utf8')).toContain('| ofauth-upload-stream c=4, 8 MiB parts |');
    expect(readFileSync(join(out, 'smoke.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  });
});

describe.skipIf(SKIP_BUT_ONCE_IN_CI)('links benchmark', () => {
  const out = mkdtempSync(join(tmpdir(), 'ofauth-links-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('uploads over TLS through the link emulator, counts connections and writes the report', { timeout: 30_000 }, async () => {
    await run(process.execPath, [
      join(root, 'benchmarks', 'run.mjs'),
      '--links',
      '--only', 'lan/put,lan/ours-c4,lan/ls-q4',
      '--size', '16MiB',
      '--rounds', '1',
      '--out', out,
      '--name', 'smoke',
    ], { cwd: root, timeout: 28_000 });
    const report = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8'));
    expect(report.results.map((r: { id: string }) => r.id)).toEqual(['lan/put', 'lan/ours-c4', 'lan/ls-q4']);
    const [put, ours, ls] = report.results;
    expect(put.runs[0].linkConnections).toBe(1);
    expect(ours.runs[0].detail.parts).toBe(2);
    expect(ours.runs[0].linkConnections).toBeGreaterThan(0);
    expect(ours.runs[0].linkConnections).toBeLessThanOrEqual(5);
    expect(ls.runs[0].retried).toBe(0);
    // Every body byte went through TLS and was compared with the source by the sink.
    expect(report.sink.checkedBytes).toBeGreaterThanOrEqual(3 * 16 * 1024 * 1024);
    expect(report.sink.tlsConnections).toBeGreaterThanOrEqual(put.runs[0].linkConnections + ours.runs[0].linkConnections);
    expect(readFileSync(join(out, 'smoke.md'), 'utf8')).toContain('| lan | ours c=4 |');
    expect(readFileSync(join(out, 'smoke.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  });
});

// `run.mjs --ranged` (issue 22): one URL row (no s3rver, so it stays quick), 48 MiB so the cutting
// link's first cut (within 1.5 × 32 MiB of traffic) always falls inside the upload.
describe.skipIf(SKIP_BUT_ONCE_IN_CI)('ranged sources benchmark', () => {
  const out = mkdtempSync(join(tmpdir(), 'ofauth-ranged-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('uploads from a URL by range behind a cutting link, within 1.25 × the size downloaded, and writes the report', { timeout: 20_000 }, async () => {
    await run(process.execPath, [
      join(root, 'benchmarks', 'run.mjs'),
      '--ranged',
      '--only', 'url-ranged-cuts',
      '--size', '48MiB',
      '--rounds', '1',
      '--out', out,
      '--name', 'smoke',
    ], { cwd: root, timeout: 19_000 });
    const report = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8'));
    expect(report.results.map((r: { id: string }) => r.id)).toEqual(['url-ranged-cuts']);
    const [cuts] = report.results;
    // The sink counted every byte of every part (else the run fails); the reads were ranged, and re-read after each cut.
    expect(cuts.runs[0]).toMatchObject({ parts: 6, download: { mode: 'ranged', bytes: 48 * 1024 * 1024 } });
    expect(cuts.runs[0].cuts).toBeGreaterThanOrEqual(1);
    expect(cuts.runs[0].download.rereads).toBeGreaterThanOrEqual(1);
    expect(cuts.runs[0].downloadedPerSize).toBeLessThanOrEqual(1.25);
    expect(readFileSync(join(out, 'smoke.md'), 'utf8')).toContain('| url-ranged-cuts |');
  });
});
