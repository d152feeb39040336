import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, cliEmulatorFixture, ensureBuilt, runCli, waitFor } from './run-cli';

const MiB = 1024 * 1024;
const API_KEY = 'sk_interrupt_SECRET_never_printed_5';
let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-interrupt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const emulator = cliEmulatorFixture(API_KEY, 'conn_interrupt');

function lines(stdout: string): Array<Record<string, unknown>> {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}
function manifestLines(path: string): unknown[] {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean) : [];
}

describe('Ctrl-C lets finish only what the server may already have finalized', () => {
  for (const mode of ['auto', 'planless'] as const) {
    it(`${mode === 'auto' ? 'single plans (files <= partSize)' : 'plan-less sessions'}: the one PUT finalizes; Ctrl-C while its answer is pending must still leave the vault and the manifest agreeing`, async () => {
      // Every answer comes 1.5 s after the request was handled: the PUT has finalized, its answer is pending.
      const { emu, env } = await emulator({ mode, latencyMs: 1500 });
      const a = join(dir, `${mode}-a.mp4`);
      const b = join(dir, `${mode}-b.mp4`);
      writeFileSync(a, bytes(300_000, 7));
      writeFileSync(b, bytes(200_000, 8));
      const manifest = join(dir, `${mode}.jsonl`);
      let child: ChildProcess | undefined;
      const running = runCli([a, b, '--manifest', manifest, '--json'], { env, onSpawn: (c) => (child = c) });
      await waitFor(() => emu.uploads().filter((u) => u.completed).length === 2);
      child?.kill('SIGINT');
      const run = await running;
      expect(run.code).toBe(130);
      const inVault = emu.uploads().filter((u) => u.completed).length;
      expect(inVault).toBe(2);
      // Both may be in the vault: both are reported and recorded, so a re-run sends neither again.
      expect({ recorded: manifestLines(manifest).length, summary: lines(run.stdout).pop() }).toMatchObject({ recorded: inVault, summary: { uploaded: inVault, cancelled: 0 } });
    });
  }

  it('a resumed upload whose journal has every part, whose session is gone: Ctrl-C during the fresh re-upload must cancel it', async () => {
    const { emu, env } = await emulator({
      faults: [
        // Run 1: complete fails for good (--retries 0), the journal keeps all 3 parts.
        { route: 'complete', nth: 1, action: { type: 'status', status: 500 } },
        // Run 2: the resumed complete hears 404: the session is gone, the upload starts over.
        { route: 'complete', nth: 2, action: { type: 'status', status: 404 } },
        // Run 2's fresh parts are slow, so the Ctrl-C lands mid-upload.
        { route: 'part', nth: [4, 5, 6], action: { type: 'delay', ms: 1500 } },
      ],
    });
    const file = join(dir, 'resumed.mp4');
    writeFileSync(file, bytes(3 * MiB - 5, 11));
    const first = await runCli([file, '--retries', '0', '--json'], { env });
    expect(first.code).toBe(1);
    let child: ChildProcess | undefined;
    const running = runCli([file, '--retries', '0', '--concurrency', '1', '--json'], { env, onSpawn: (c) => (child = c) });
    await waitFor(() => emu.requests.filter((r) => r.route === 'init').length === 2);
    const sigintAt = emu.requests.length;
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    // Nothing is finalized after the Ctrl-C, and the upload is reported as cancelled.
    expect(emu.requests.slice(sigintAt).filter((r) => r.route === 'complete')).toHaveLength(0);
    expect(emu.uploads().filter((u) => u.completed)).toHaveLength(0);
    expect(lines(run.stdout).pop()).toMatchObject({ type: 'cancelled' });
  });

  it('the first Ctrl-C says which upload it lets finish; a second exits at once', async () => {
    const { emu, env } = await emulator({ faults: [{ route: 'complete', action: { type: 'hang' } }] });
    const file = join(dir, 'hanging.mp4');
    writeFileSync(file, bytes(2 * MiB + 7, 3));
    let child: ChildProcess | undefined;
    let stderr = '';
    const running = runCli([file, '--json'], {
      env,
      onSpawn: (c) => {
        child = c;
        c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      },
    });
    await waitFor(() => emu.requests.some((r) => r.route === 'complete'));
    child?.kill('SIGINT');
    await waitFor(() => stderr.includes('finishing'));
    expect(stderr).toContain(`finishing ${file}: all of it is in the vault, only finalizing is left (Ctrl-C again to exit now)`);
    expect(child?.exitCode).toBe(null);
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    expect(run.stdout + stderr).not.toContain(API_KEY);
  });
});
