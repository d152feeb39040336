import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DownloadServer, startDownloadServer, withLength } from './download-server';
import { bytes, cliEmulatorFixture, ensureBuilt, runCli, sha256, waitFor } from './run-cli';

// `ofauth-upload SOURCE...`: many sources in one command, against an emulator in this process.

const MiB = 1024 * 1024;
const API_KEY = 'sk_batch_SECRET_never_printed_7e1';
let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-batch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const emulator = cliEmulatorFixture(API_KEY, 'conn_batch');

type Line = Record<string, unknown> & { type: string; source: string };

function jsonLines(stdout: string): Line[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
}

/** A folder of files of the given sizes, named in order; returns name → bytes. */
function folder(name: string, sizes: number[], seed: number): { path: string; files: Map<string, Buffer> } {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  const files = new Map<string, Buffer>();
  sizes.forEach((size, i) => {
    const file = `clip-${String(i + 1).padStart(2, '0')}.mp4`;
    const data = bytes(size, seed + i);
    writeFileSync(join(path, file), data);
    files.set(join(path, file), data);
  });
  return { path, files };
}

describe('a folder of 20 files with --jobs 3', () => {
  it('uploads each once, at most 3 × --concurrency PUTs in flight, every sha256 as sent and as stored', async () => {
    // Every PUT is held 40 ms, so the uploads certainly overlap.
    const { emu, env } = await emulator({ faults: [{ route: 'part', action: { type: 'delay', ms: 40 } }, { route: 'single', action: { type: 'delay', ms: 40 } }] });
    const sizes = [1, 700, 5000, 64 * 1024, 300_000, MiB - 1, MiB, MiB + 1, 1_500_000, 2 * MiB, 2 * MiB + 17, 3 * MiB - 5, 123_456, 10, 999_999, 2_500_000, 40_000, 1_100_000, 3 * MiB, 777_777];
    const { path, files } = folder('twenty', sizes, 100);
    // Hidden files and subfolders are not part of a folder without -r.
    writeFileSync(join(path, '.DS_Store'), 'x');
    mkdirSync(join(path, 'proxies'));
    writeFileSync(join(path, 'proxies', 'low.mp4'), 'y');

    const run = await runCli([path, '--jobs', '3', '--concurrency', '2', '--json'], { env });
    expect(run.stderr).not.toContain('ERR_');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('1 subfolder not uploaded (-r uploads subfolders too)');
    const lines = jsonLines(run.stdout);
    const summary = lines.pop();
    expect(summary).toMatchObject({ type: 'summary', ok: true, sources: 20, uploaded: 20, skipped: 0, failed: 0, bytes: sizes.reduce((a, b) => a + b, 0) });
    expect(lines.map((l) => l.source).sort()).toEqual([...files.keys()].sort());
    for (const line of lines) {
      const data = files.get(line.source) ?? Buffer.alloc(0);
      expect(line).toMatchObject({ type: 'uploaded', ok: true, size: data.length, sha256: sha256(data), contentType: 'video/mp4' });
      expect(emu.media(String(line.mediaUploadId))).toMatchObject({ completed: true, size: data.length, sha256: sha256(data) });
      expect(line.mediaId).toBe(emu.media(String(line.mediaUploadId))?.media?.id);
    }
    expect(emu.stats.initCalls).toBe(20);
    // Three uploads at once, each with its own two: never more than six PUTs, and more than one upload's two.
    expect(emu.stats.maxConcurrentPuts).toBeLessThanOrEqual(6);
    expect(emu.stats.maxConcurrentPuts).toBeGreaterThan(2);
    expect(run.stdout + run.stderr).not.toContain(API_KEY);
  });
});

describe('folders', () => {
  it('-r follows subfolders, hidden entries never; a file named twice is sent once; an empty file in a folder is its failure', async () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'day1', 'takes'), { recursive: true });
    mkdirSync(join(root, '.cache'), { recursive: true });
    const files: Record<string, Buffer> = {
      'a.mp4': bytes(3000, 501),
      'day1/b.jpg': bytes(4000, 502),
      'day1/takes/c.mov': bytes(5000, 503),
      '.cache/hidden.mp4': bytes(10, 504),
      'day1/.hidden.jpg': bytes(10, 505),
      'empty.mp4': Buffer.alloc(0),
    };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(root, name), data);
    // The embedded emulator (no API key): its stored sha256 is checked for every source.
    const run = await runCli([root, join(root, 'a.mp4'), '-r', '--json']);
    expect(run.code).toBe(1);
    const lines = jsonLines(run.stdout);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', sources: 4, uploaded: 3, failed: 1 });
    const uploaded = lines.filter((l) => l.type === 'uploaded');
    expect(uploaded.map((l) => l.source).sort()).toEqual(['a.mp4', 'day1/b.jpg', 'day1/takes/c.mov'].map((n) => join(root, n)));
    for (const line of uploaded) expect(line).toMatchObject({ sha256Match: true, sha256: sha256(files[line.source.slice(root.length + 1)] ?? Buffer.alloc(0)) });
    expect(lines.find((l) => l.type === 'failed')).toMatchObject({ source: join(root, 'empty.mp4'), error: { code: 'ERR_SOURCE', reason: 'empty' } });

    const renamed = await runCli([root, '--filename', 'x.mp4']);
    expect(renamed.code).toBe(2);
    expect(renamed.stderr).toContain('--filename names one source; the folder holds 2');
    mkdirSync(join(dir, 'void', '.only-hidden'), { recursive: true });
    const nothing = await runCli([join(dir, 'void'), '-r']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain(`nothing to upload (${join(dir, 'void')}: no files to upload)`);
  });
});

describe('one failing source among several', () => {
  let cdn: DownloadServer;
  afterEach(async () => cdn.close());

  it('exits 1, the others are uploaded, the failure is its own JSON line (and one stderr line without --json)', async () => {
    const { emu, env } = await emulator();
    const { files } = folder('mixed', [200_000, 1_300_000], 300);
    const clip = bytes(50_000, 310);
    cdn = await startDownloadServer({ '/ok.mp4': withLength(clip, { 'content-type': 'video/mp4' }) });
    const missing = `${cdn.url}/gone.mp4?X-Amz-Signature=secret-sig`;
    const sources = [...files.keys(), missing, `${cdn.url}/ok.mp4`];
    const run = await runCli([...sources, '--json'], { env });
    expect(run.code).toBe(1);
    const lines = jsonLines(run.stdout);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', ok: false, sources: 4, uploaded: 3, failed: 1 });
    const failed = lines.find((l) => l.type === 'failed');
    expect(failed).toEqual({
      type: 'failed',
      ok: false,
      source: `${cdn.url}/gone.mp4`,
      error: { name: 'SourceError', code: 'ERR_SOURCE', reason: 'status', status: 404, source: `${cdn.url}/gone.mp4`, message: `GET ${cdn.url}/gone.mp4 answered HTTP 404` },
    });
    // The presigned query string is a credential: never printed.
    expect(run.stdout + run.stderr).not.toContain('secret-sig');
    expect(lines.filter((l) => l.type === 'uploaded')).toHaveLength(3);
    expect(emu.uploads().filter((u) => u.completed)).toHaveLength(3);

    emu.reset();
    const human = await runCli(sources, { env });
    expect(human.code).toBe(1);
    expect(human.stderr.split('\n').filter((l) => l.startsWith('ofauth-upload:'))).toEqual([`ofauth-upload: failed ${cdn.url}/gone.mp4: ERR_SOURCE: GET ${cdn.url}/gone.mp4 answered HTTP 404`]);
    expect(human.stdout.split('\n').filter((l) => l.startsWith('uploaded  '))).toHaveLength(3);
    expect(human.stdout).toMatch(/^Done, with failures: 4 sources, 3 uploaded, 0 skipped, 1 failed; /m);
  });
});

describe('--manifest, and a re-run after Ctrl-C', () => {
  it('Ctrl-C while an upload is being finalized lets complete finish and records it: the vault and the manifest agree', async () => {
    // Complete is held 1.5 s: the Ctrl-C lands after it reached the server, before its answer.
    const { emu, env } = await emulator({ faults: [{ route: 'complete', action: { type: 'delay', ms: 1500 } }] });
    const { path, files } = folder('finalizing', [2 * MiB + 7], 300);
    const manifest = join(dir, 'finalizing.jsonl');
    let child: ChildProcess | undefined;
    const running = runCli([path, '--manifest', manifest, '--json'], { env, onSpawn: (c) => (child = c) });
    await waitFor(() => emu.requests.some((r) => r.route === 'complete'));
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    const lines = jsonLines(run.stdout);
    expect(lines.pop()).toMatchObject({ type: 'summary', interrupted: true, uploaded: 1, cancelled: 0 });
    const finalized = emu.uploads().filter((u) => u.completed);
    expect(finalized).toHaveLength(1);
    const recorded = readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recorded.map((r) => r.mediaUploadId)).toEqual([finalized[0]?.mediaUploadId]);
    const [data] = [...files.values()];
    expect(recorded[0]).toMatchObject({ size: data?.length, sha256: sha256(data ?? Buffer.alloc(0)) });
  });

  it('the first run records only what completed; the re-run skips exactly those and uploads the rest', async () => {
    // After the first 9 part PUTs every part hangs: some files are done, two are mid-way, the rest wait.
    const hang = Array.from({ length: 60 }, (_, i) => i + 10);
    const first = await emulator({ faults: [{ route: 'part', nth: hang, action: { type: 'hang' } }] });
    const { path, files } = folder('interrupted', [2 * MiB + 1, 2 * MiB + 2, 2 * MiB + 3, 2 * MiB + 4, 2 * MiB + 5, 2 * MiB + 6], 400);
    const manifest = join(dir, 'interrupted.jsonl');
    let child: ChildProcess | undefined;
    const running = runCli([path, '--jobs', '2', '--manifest', manifest, '--json'], { env: first.env, onSpawn: (c) => (child = c) });
    await waitFor(() => first.emu.stats.faultsInjected >= 2);
    child?.kill('SIGINT');
    const run1 = await running;
    expect(run1.code).toBe(130);
    const lines1 = jsonLines(run1.stdout);
    const summary1 = lines1.pop();
    expect(summary1).toMatchObject({ type: 'summary', ok: false, interrupted: true, sources: 6 });
    const recorded = readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // The manifest holds exactly the uploads the emulator finalized: no more (nothing half-done), no fewer.
    const finalized = first.emu.uploads().filter((u) => u.completed);
    expect(recorded.map((r) => r.mediaUploadId).sort()).toEqual(finalized.map((u) => u.mediaUploadId).sort());
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.length).toBeLessThan(6);
    for (const entry of recorded) {
      const data = files.get(String(entry.source)) ?? Buffer.alloc(0);
      expect(entry).toMatchObject({ size: data.length, sha256: sha256(data), mtimeMs: expect.any(Number) });
    }
    // The cancelled ones name the sessions they left (those whose init had answered; one cut off
    // before that has none to name); no complete call went out for them.
    const cancelled = lines1.filter((l) => l.type === 'cancelled');
    expect(cancelled.length).toBeGreaterThan(0);
    const named = cancelled.map((line) => (line.error as { mediaUploadId?: string }).mediaUploadId).filter((id) => id !== undefined);
    expect(named.length).toBeGreaterThan(0);
    for (const id of named) expect(first.emu.media(id)?.completed).toBe(false);
    expect(first.emu.stats.completeCalls).toBe(finalized.length);
    expect(summary1).toMatchObject({ uploaded: recorded.length, cancelled: cancelled.length, notStarted: 6 - recorded.length - cancelled.length });
    const port = Number(new URL(first.emu.url).port);
    await first.emu.close();

    // The same server again (a manifest line counts only for the base URL it names).
    const second = await emulator({ port });
    const run2 = await runCli([path, '--jobs', '2', '--manifest', manifest, '--json'], { env: second.env });
    expect(run2.code).toBe(0);
    const lines2 = jsonLines(run2.stdout);
    expect(lines2.at(-1)).toMatchObject({ type: 'summary', ok: true, skipped: recorded.length, uploaded: 6 - recorded.length, failed: 0 });
    const skipped = lines2.filter((l) => l.type === 'skipped');
    expect(skipped.map((l) => resolve(l.source)).sort()).toEqual(recorded.map((r) => String(r.source)).sort());
    expect(skipped[0]).toMatchObject({ ok: true, reason: 'in the manifest, unchanged', mediaUploadId: expect.stringMatching(/^upload:/) });
    // Only the rest was sent.
    expect(second.emu.stats.initCalls).toBe(6 - recorded.length);
    const all = readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { source: string });
    expect(all.map((e) => e.source).sort()).toEqual([...files.keys()].sort());

    // A file that changed since it was recorded is sent again.
    const [changed] = [...files.keys()];
    writeFileSync(changed ?? '', bytes(1000, 499));
    const run3 = await runCli([path, '--manifest', manifest, '--json'], { env: second.env });
    expect(run3.code).toBe(0);
    expect(jsonLines(run3.stdout).at(-1)).toMatchObject({ uploaded: 1, skipped: 5 });
  });
});

describe('--manifest across accounts', () => {
  it('a source recorded for one creator is uploaded for another, and skipped again for the first', async () => {
    const { emu, env } = await emulator();
    const { path } = folder('accounts', [300_000, 200_000], 700);
    const manifest = join(dir, 'accounts.jsonl');
    const alice = { ...env, OFAUTH_CONNECTION_ID: 'creator_alice' };
    const bob = { ...env, OFAUTH_CONNECTION_ID: 'creator_bob' };
    const run1 = await runCli([path, '--manifest', manifest, '--json'], { env: alice });
    expect(jsonLines(run1.stdout).at(-1)).toMatchObject({ uploaded: 2, skipped: 0 });
    const run2 = await runCli([path, '--manifest', manifest, '--json'], { env: bob });
    expect(jsonLines(run2.stdout).at(-1)).toMatchObject({ uploaded: 2, skipped: 0 });
    const run3 = await runCli([path, '--manifest', manifest, '--json'], { env: alice });
    expect(jsonLines(run3.stdout).at(-1)).toMatchObject({ uploaded: 0, skipped: 2 });
    expect(emu.stats.initCalls).toBe(4);
    const recorded = readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recorded.map((r) => r.connectionId)).toEqual(['creator_alice', 'creator_alice', 'creator_bob', 'creator_bob']);
    expect(new Set(recorded.map((r) => r.baseUrl))).toEqual(new Set([emu.url]));
    // Uploads to the embedded emulator (no API key) are not taken for uploads to this server.
    const trial = join(dir, 'trial.jsonl');
    const run4 = await runCli([path, '--manifest', trial, '--json'], { env: {} });
    expect(jsonLines(run4.stdout).at(-1)).toMatchObject({ uploaded: 2 });
    expect(readFileSync(trial, 'utf8')).toContain('"baseUrl":"embedded-emulator"');
    const run5 = await runCli([path, '--manifest', trial, '--json'], { env: alice });
    expect(jsonLines(run5.stdout).at(-1)).toMatchObject({ uploaded: 2, skipped: 0 });
  });
});

describe('a batch on a rate-limited connection', () => {
  it('--jobs 3 share the connection\'s pacer: every source intact, at most one refusal, the waits reported', async () => {
    const { emu, env } = await emulator({ rateLimit: { perMinute: 1200, burst: 4 } });
    const { path, files } = folder('limited', [3 * MiB + 1, 3 * MiB + 2, 3 * MiB + 3], 800);
    const run = await runCli([path, '--jobs', '3', '--json'], { env });
    expect(run.stderr).not.toContain('ERR_');
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout);
    const summary = lines.pop();
    for (const line of lines) {
      const data = files.get(line.source) ?? Buffer.alloc(0);
      expect(line).toMatchObject({ type: 'uploaded', sha256: sha256(data) });
      expect(emu.media(String(line.mediaUploadId))).toMatchObject({ completed: true, sha256: sha256(data) });
    }
    // 3 × (init, 4 parts, complete) = 18 requests through a bucket of 4 at 20/s.
    expect(emu.stats.rateLimited).toBeLessThanOrEqual(1);
    expect(summary).toMatchObject({ type: 'summary', uploaded: 3, rateLimit: { refusals: emu.stats.rateLimited } });
    expect((summary?.rateLimit as { waitedMs: number }).waitedMs).toBeGreaterThan(0);
  });
});
