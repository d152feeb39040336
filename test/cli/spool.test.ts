import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../lib/emulator/index';
import { bytes, ensureBuilt, runCli, sha256, waitFor } from './run-cli';

// A pipe without --size: the CLI spools it (memory, then one unlinked temp file), then uploads.

const MiB = 1024 * 1024;
const API_KEY = 'sk_cli_spool_SECRET_31';
let emu: Emulator | undefined;
let spoolDir: string;

beforeAll(() => ensureBuilt());
beforeEach(() => {
  spoolDir = mkdtempSync(join(tmpdir(), 'ofauth-cli-spool-'));
});
afterEach(async () => {
  await emu?.close();
  emu = undefined;
  // Every path leaves the spool dir as it found it.
  expect(readdirSync(spoolDir)).toEqual([]);
  rmSync(spoolDir, { recursive: true, force: true });
});

async function emulator(): Promise<Record<string, string>> {
  emu = await startEmulator({ apiKey: API_KEY, partSize: 1 * MiB });
  return { OFAUTH_BASE_URL: emu.url, OFAUTH_API_KEY: API_KEY, OFAUTH_CONNECTION_ID: 'conn_cli' };
}

describe('ofauth-upload - (a pipe of unknown size)', () => {
  it('spools past --spool-memory to --spool-dir, then uploads; the stored sha256 matches', async () => {
    const env = await emulator();
    const data = bytes(3 * MiB + 17, 21);
    const run = await runCli(['-', '--filename', 'clip.mp4', '--spool-dir', spoolDir, '--spool-memory', '1MiB', '--json'], { env, input: data });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const line = JSON.parse(run.stdout) as { mediaUploadId: string; bytes: number; sha256: string };
    expect(line.bytes).toBe(data.length);
    expect(line.sha256).toBe(sha256(data));
    expect(emu!.media(line.mediaUploadId)).toMatchObject({ sha256: sha256(data), size: data.length, filename: 'clip.mp4', contentType: 'video/mp4' });
  });

  it('--max-size: a larger source fails with ERR_OFAUTH_SPOOL (exit 1) before any request', async () => {
    const env = await emulator();
    const run = await runCli(['-', '--spool-dir', spoolDir, '--max-size', '1MB', '--json'], { env, input: bytes(2 * MiB, 22) });
    expect(run.code).toBe(1);
    const line = JSON.parse(run.stdout) as { ok: boolean; error: Record<string, unknown> };
    expect(line).toMatchObject({ ok: false, error: { code: 'ERR_OFAUTH_SPOOL', reason: 'limit', limit: 1_000_000 } });
    expect(emu!.requests).toHaveLength(0);
  });

  it('Ctrl-C while spooling exits 130, opens no session and leaves no file', async () => {
    const env = await emulator();
    let child: ChildProcess | undefined;
    const running = runCli(['-', '--spool-dir', spoolDir, '--spool-memory', '0'], { env, holdStdin: true, onSpawn: (c) => (child = c) });
    const chunk = bytes(256 * 1024, 23);
    let written = 0;
    // Feed until the spool is certainly on disk (8 MiB), then interrupt; the pipe stays open.
    for (let i = 0; i < 32; i++) {
      await new Promise<void>((resolve) => child!.stdin!.write(chunk, () => resolve()));
      written += chunk.length;
    }
    await waitFor(() => written >= 8 * MiB);
    child!.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/ABORT_ERR: Interrupted \(SIGINT\)/);
    expect(run.stderr).not.toContain('left unfinished');
    // Nothing was sent: the line says so, not that requests in flight were cancelled.
    expect(run.stderr).toContain('ofauth-upload: ABORT_ERR: Interrupted (SIGINT) while the source (size unknown) was still being buffered: nothing was uploaded\n');
    expect(run.stderr).not.toContain('in-flight');
    expect(emu!.requests).toHaveLength(0);
  });
});
