import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bytes, ensureBuilt, runCli, sha256, waitFor } from './run-cli';

// A named pipe as a SOURCE: opened without blocking (a blocking open waits in a libuv thread for
// a writer, where no Ctrl-C reaches it), then read as a stream and spooled.

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-fifo-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A child a failed test left waiting on its pipe is killed, so the run ends. */
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

/** Whether process `pid` has `path` open (Linux: its fd table). */
function holds(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

describe.runIf(process.platform === 'linux')('a named pipe as a source', () => {
  it('is streamed once a writer comes, spooled, and arrives intact', async () => {
    const path = fifo('camera.mp4');
    const data = bytes(3 * 1024 * 1024 + 11, 901);
    const file = join(dir, 'camera-data');
    writeFileSync(file, data);
    let child: ChildProcess | undefined;
    const running = runCli([path, '--json'], { env: {}, onSpawn: (c) => children.add((child = c)) });
    await waitFor(() => child?.pid !== undefined && holds(child.pid, path));
    // The writer comes only after the CLI holds the pipe open: it waited without blocking.
    const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', file, path], { stdio: 'ignore' });
    const run = await running;
    writer.kill();
    expect(run.stderr).not.toContain('ERR_');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n')[0] ?? '{}')).toMatchObject({ type: 'uploaded', size: data.length, sha256: sha256(data), sha256Match: true, filename: 'camera.mp4' });
  });

  it('Ctrl-C while waiting for a writer ends the command at once (exit 130)', async () => {
    const path = fifo('never.mp4');
    let child: ChildProcess | undefined;
    const running = runCli([path], { env: {}, onSpawn: (c) => children.add((child = c)) });
    await waitFor(() => child?.pid !== undefined && holds(child.pid, path));
    child?.kill('SIGINT');
    const run = await running;
    expect(run.signal).toBeNull();
    expect(run.code).toBe(130);
    // Nothing was sent (the pipe is open, its size unknown, nothing buffered yet): the line says so.
    expect(run.stderr).toMatch(/ABORT_ERR: Interrupted \(SIGINT\) while .*: nothing was uploaded\n/);
    expect(run.stderr).not.toContain('in-flight');
  });
});
