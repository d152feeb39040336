import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CuttingLink, startCuttingLink } from '../../benchmarks/lib/cutting-link.mjs';
import { type RangeServer, startRangeServer } from '../sources/range-server';
import { bytes, cliEmulatorFixture, ensureBuilt, journalParts, runCli, sha256, waitFor } from './run-cli';
import { type FakeS3, S3RVER_ENV, startFakeS3 } from './s3rver';

// URL and s3:// sources read by byte range: behind a link that cuts connections, from a server
// without ranges, and resumed after the CLI was SIGKILLed.

const MiB = 1024 * 1024;
const API_KEY = 'sk_cli_ranged_SECRET_77';
const BUCKET = 'ranged';
let dir: string;
let s3: FakeS3;
let server: RangeServer | undefined;
let link: CuttingLink | undefined;
const emulator = cliEmulatorFixture(API_KEY, 'conn_ranged');

const big = bytes(16 * MiB, 71);
const twelve = bytes(12 * MiB, 72);

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-cli-ranged-'));
  s3 = await startFakeS3();
  await s3.createBucket(BUCKET);
  await s3.put(BUCKET, 'big.mp4', big);
  await s3.put(BUCKET, 'twelve.mp4', twelve);
}, 60_000);
afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await link?.close();
  await server?.close();
  link = server = undefined;
});

type Line = Record<string, unknown> & { type: string; download?: Record<string, unknown> };
const jsonLine = (stdout: string): Line => JSON.parse(stdout.trim().split('\n')[0] ?? '{}') as Line;

describe('ofauth-upload URL and s3:// read by range', () => {
  it('a URL behind a link that cuts connections: intact, read by range, downloads near the size, said in --json and the summary', async () => {
    const { emu, env } = await emulator({ hashing: 'sha256' });
    server = await startRangeServer({ '/big.mp4': { data: big } });
    link = await startCuttingLink(server.port, 2 * MiB, 5);
    const run = await runCli([`${link.url}/big.mp4?token=SECRET`, '--json'], { env });
    expect(run.code).toBe(0);
    const line = jsonLine(run.stdout);
    expect(line).toMatchObject({ type: 'uploaded', size: big.length, sha256: sha256(big) });
    expect(line.download).toMatchObject({ mode: 'ranged', bytes: big.length });
    expect(Number(line.download?.rereads)).toBeGreaterThan(0);
    expect(emu.media(String(line.mediaUploadId))?.sha256).toBe(sha256(big));
    expect(link.cuts).toBeGreaterThan(5);
    expect(link.bytesDown).toBeLessThanOrEqual(1.25 * big.length);
    expect(run.stdout).not.toContain('SECRET');
    const human = await runCli([`${server.url}/big.mp4`], { env });
    expect(human.stdout).toMatch(/read +by range: 16 requests, 16\.0 MiB downloaded/);
  });

  it('s3:// behind a link that cuts connections: intact, read by range with IfMatch', async () => {
    const { emu, env } = await emulator({ hashing: 'sha256' });
    link = await startCuttingLink(s3.s3rverPort, 2 * MiB, 6);
    const run = await runCli([`s3://${BUCKET}/big.mp4`, '--s3-endpoint', link.url, '--json'], { env: { ...S3RVER_ENV, ...env } });
    expect(run.code).toBe(0);
    const line = jsonLine(run.stdout);
    expect(line).toMatchObject({ type: 'uploaded', size: big.length, sha256: sha256(big) });
    expect(line.download).toMatchObject({ mode: 'ranged', bytes: big.length });
    expect(emu.media(String(line.mediaUploadId))?.sha256).toBe(sha256(big));
    expect(link.bytesDown).toBeLessThanOrEqual(1.25 * big.length);
  });

  it('a server without ranges still works, read once, and --json says so', async () => {
    const { emu, env } = await emulator({ hashing: 'sha256' });
    const data = bytes(3 * MiB, 73);
    server = await startRangeServer({ '/plain.mp4': { data, ranges: false } });
    const run = await runCli([`${server.url}/plain.mp4`, '--json'], { env });
    expect(run.code).toBe(0);
    const line = jsonLine(run.stdout);
    expect(line.download).toEqual({ mode: 'stream', bytes: data.length, requests: 0, rereads: 0, why: 'the server does not answer byte ranges' });
    expect(emu.media(String(line.mediaUploadId))?.sha256).toBe(sha256(data));
  });

  it('Ctrl-C during a URL read by range says the same command resumes it', async () => {
    const { emu, env } = await emulator({ hashing: 'sha256', faults: [{ route: 'part', partNumber: 2, action: { type: 'hang' } }] });
    const resumeDir = join(dir, 'journals-sigint');
    server = await startRangeServer({ '/twelve.mp4': { data: twelve } });
    let child: ChildProcess | undefined;
    const running = runCli([`${server.url}/twelve.mp4`, '--resume-dir', resumeDir], { env, onSpawn: (c) => (child = c) });
    await waitFor(() => (journalParts(resumeDir) ?? 0) >= 3, 20_000);
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    const [session] = emu.uploads();
    expect(run.stderr).toContain(`mediaUploadId ${session?.mediaUploadId} was left unfinished; run the same command again to resume it`);
  });

  for (const kind of ['url', 's3'] as const) {
    it(`${kind}: SIGKILLed mid-upload, the same command again downloads and sends only the missing parts`, async () => {
      // Part 7 hangs the first time only: the first run is killed with 11 of 12 parts in.
      const { emu, env } = await emulator({ hashing: 'sha256', faults: [{ route: 'part', partNumber: 7, nth: 1, action: { type: 'hang' } }] });
      const resumeDir = join(dir, `journals-${kind}`);
      server = await startRangeServer({ '/twelve.mp4': { data: twelve } });
      const source = kind === 'url' ? `${server.url}/twelve.mp4` : `s3://${BUCKET}/twelve.mp4`;
      const args = [source, '--resume-dir', resumeDir, ...(kind === 's3' ? ['--s3-endpoint', s3.endpoint] : [])];
      const runEnv = { ...S3RVER_ENV, ...env };
      let child: ChildProcess | undefined;
      const first = runCli(args, { env: runEnv, onSpawn: (c) => (child = c) });
      await waitFor(() => journalParts(resumeDir) === 11, 20_000);
      child?.kill('SIGKILL');
      await first;
      const [session] = emu.uploads();
      const mark = emu.requests.at(-1)?.id ?? 0;
      const rangeReads = (): number =>
        kind === 'url'
          ? server!.requests.filter((r) => r.headers['if-range'] !== undefined).length
          : s3.headers.filter((h, i) => s3.requests[i]?.startsWith('GET ') === true && h.range !== undefined).length;
      const readsBefore = rangeReads();

      const two = await runCli(args, { env: runEnv });
      expect(two.code).toBe(0);
      expect(two.stderr).toContain(`resuming ${session?.mediaUploadId}: 11 of 12 parts already in the vault`);
      expect(emu.requests.filter((r) => r.id > mark).map((r) => [r.route, r.partNumber ?? null])).toEqual([
        ['part', 7],
        ['complete', null],
      ]);
      expect(rangeReads() - readsBefore).toBe(1);
      expect(emu.media(session?.mediaUploadId ?? '')?.sha256).toBe(sha256(twelve));
      // The CLI did not read every byte this time: no local sha256 to compare, and it says so.
      expect(two.stdout).toContain('sha256 local   (not computed');
      expect(readdirSync(resumeDir)).toEqual([]);
    });
  }
});
