import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeNotice } from '../../lib/cli/resume-notice';
import { bytes, cliEmulatorFixture, ensureBuilt, journalParts, runCli, sha256, waitFor } from './run-cli';

const MiB = 1024 * 1024;
const API_KEY = 'sk_cli_resume_SECRET_31';
let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-cli-resume-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const emulator = cliEmulatorFixture(API_KEY, 'conn_cli');

describe('ofauth-upload FILE resumes after Ctrl-C', () => {
  it('the same command continues, says so, and sends only the parts the vault lacks', async () => {
    // Part 5 hangs the first time only: the first run is interrupted with parts 1-4 and 6-8 in.
    const { emu: e, env } = await emulator({ faults: [{ route: 'part', partNumber: 5, nth: 1, action: { type: 'hang' } }] });
    const data = bytes(8 * MiB, 41);
    const path = join(dir, 'clip.mp4');
    writeFileSync(path, data);
    const resumeDir = join(dir, 'journals');
    let child: ChildProcess | undefined;
    const first = runCli([path, '--resume-dir', resumeDir], { env, onSpawn: (c) => (child = c) });
    await waitFor(() => journalParts(resumeDir) === 7);
    child?.kill('SIGINT');
    const one = await first;
    expect(one.code).toBe(130);
    const [session] = e.uploads();
    expect(one.stderr).toContain(`mediaUploadId ${session?.mediaUploadId} was left unfinished; run the same command again to resume it`);
    const mark = e.requests.at(-1)?.id ?? 0;

    const two = await runCli([path, '--resume-dir', resumeDir], { env });
    expect(two.code).toBe(0);
    expect(two.stderr).toContain(`resuming ${session?.mediaUploadId}: 7 of 8 parts already in the vault`);
    const after = e.requests.filter((r) => r.id > mark);
    expect(after.map((r) => [r.route, r.partNumber ?? null])).toEqual([
      ['part', 5],
      ['complete', null],
    ]);
    expect(e.media(session?.mediaUploadId ?? '')?.sha256).toBe(sha256(data));
    expect(two.stdout).toContain(`sha256 local   ${sha256(data)}`);
    // The mean rate is of the 1 MiB this run sent, not of the 8 MiB the upload holds.
    expect(two.stdout).toMatch(/^ {2}bytes {10}8388608 \(8\.0 MiB\)$/m);
    expect(two.stdout).toMatch(/^ {2}sent {11}1\.0 MiB by this run; 7\.0 MiB were already in the vault$/m);
    const elapsedS = Number(/^ {2}elapsed {8}([\d.]+) s$/m.exec(two.stdout)?.[1]);
    const rate = Number(/^ {2}mean rate {6}([\d.]+) MiB\/s$/m.exec(two.stdout)?.[1]);
    // Both printed rounded: elapsed to 0.01 s, the rate to 0.1 MiB/s (8 MiB would be 8× as much).
    expect(elapsedS).toBeGreaterThan(0.01);
    expect(rate).toBeGreaterThanOrEqual(1 / (elapsedS + 0.005) - 0.05);
    expect(rate).toBeLessThanOrEqual(1 / (elapsedS - 0.005) + 0.05);
    expect(readdirSync(resumeDir)).toEqual([]);
  });

  it('--no-resume keeps no journal; the embedded emulator is never resumed', async () => {
    const { emu: e, env } = await emulator({ faults: [{ route: 'part', partNumber: 2, action: { type: 'hang' } }] });
    const path = join(dir, 'no-resume.mp4');
    writeFileSync(path, bytes(3 * MiB, 42));
    const cache = join(dir, 'cache');
    let child: ChildProcess | undefined;
    const running = runCli([path, '--no-resume'], { env: { ...env, XDG_CACHE_HOME: cache }, onSpawn: (c) => (child = c) });
    await waitFor(() => e.requests.some((r) => r.route === 'part' && r.partNumber === 2));
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('was left unfinished');
    expect(run.stderr).not.toContain('resume');
    const embedded = await runCli([path], { env: { XDG_CACHE_HOME: cache } });
    expect(embedded.code).toBe(0);
    expect(existsSync(cache)).toBe(false);
  });
});

describe('resumeNotice', () => {
  it('says what came of the journal', () => {
    const base = { mediaUploadId: 'upload:new', partsDone: 0, bytesDone: 0, totalParts: 14 };
    expect(resumeNotice({ ...base, mediaUploadId: 'upload:a', partsDone: 9, restarted: false })).toBe('resuming upload:a: 9 of 14 parts already in the vault');
    expect(resumeNotice({ ...base, restarted: true, reason: 'expired', previousMediaUploadId: 'upload:a' })).toBe(
      'could not resume upload:a (its session expires in less than a minute): starting over as upload:new',
    );
    expect(resumeNotice({ ...base, restarted: true, reason: 'gone', previousMediaUploadId: 'upload:a' })).toContain('(the server no longer knows it)');
    expect(resumeNotice({ ...base, restarted: true, reason: 'planless', previousMediaUploadId: 'upload:a' })).toContain('(a plan-less upload has no parts to skip)');
  });
});
