import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UploadLockedError } from '../../lib/errors';
import { FileLock } from '../../lib/resume/lock';

// The crash, for real: node as pid 1 of a pid namespace of its own (as a container runs
// it), holding a real FileLock (lib/resume/lock.ts bundled by esbuild, since the package does not
// export it), SIGKILLed or kept alive, and judged from another namespace, where pid 1 is someone
// else and the holder's pid may not exist at all.

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'lock-holder.mjs');
/** Fast enough for a test, and a live holder renews 25 times per lease: no loaded CI stalls it that long. */
const LIVE = { renewMs: 200, leaseMs: 5_000 };
const DYING = { renewMs: 200, leaseMs: 3_000 };

const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
let work: string;
let bundle: string;
let dir: string;
let path: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lock-bundle-'));
  bundle = join(work, 'lock.mjs');
  if (canUnshare) {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'esbuild'), ['lib/resume/lock.ts', '--bundle', '--platform=node', '--format=esm', `--outfile=${bundle}`, '--log-level=warning'], { cwd: ROOT });
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lock-ns-'));
  path = join(dir, 'upload.lock');
});

const running = new Set<ChildProcess>();
afterEach(() => {
  // --kill-child: the namespace's pid 1, and so all of it, dies with its unshare.
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  next(event: string): Promise<Record<string, unknown>>;
}

/**
 * The fixture in a new pid namespace: as its pid 1, or (`highPid`) under a shell that first uses
 * up a hundred pids, so that its pid names nothing in a fresh namespace (where node's pid 1 and
 * its threads' ids are all there is).
 */
function inNamespace(mode: 'hold' | 'try', timing: object, highPid = false): Run {
  const node = [process.execPath, FIXTURE, bundle, mode, path, JSON.stringify(timing)];
  const command = highPid ? ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done; "$0" "$@"; :', ...node] : node;
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', ...command], { stdio: ['pipe', 'pipe', 'inherit'] });
  running.add(child);
  const events: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const next = async (event: string) => {
    for (let i = 0; i < 2000; i++) {
      const found = events.find((e) => e.event === event);
      if (found !== undefined) return found;
      if (child.exitCode !== null || child.signalCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no '${event}' from the fixture; it said ${JSON.stringify(events)}`);
  };
  return { child, events, exited, next };
}

/** The pid, in this namespace, of the process unshare forked (the namespace's pid 1). */
function forkedBy(unsharePid: number): number {
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(' ');
  expect(children).toHaveLength(1);
  return Number(children[0]);
}

const record = () => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe.skipIf(!canUnshare && !process.env.CI)('FileLock across pid namespaces (unshare --pid: node is pid 1 on every start)', () => {
  it('a lock left by a SIGKILLed pid 1 of another namespace is taken over by the next pid 1, once its lease lapses', async () => {
    const holder = inNamespace('hold', DYING);
    await holder.next('held');
    const left = record();
    expect(left).toMatchObject({ pid: 1, leaseMs: DYING.leaseMs, bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() });
    expect(left.pidNs).not.toBe(readlinkSync('/proc/self/ns/pid'));
    expect(left.startTime).toMatch(/^\d+$/);

    const pid1 = forkedBy(holder.child.pid ?? 0);
    // Held open, the dead namespace cannot hand its id on to the next one (a reused id is told
    // apart by start time and taken over at once, as the in-namespace tests show: not this case).
    const namespace = openSync(`/proc/${pid1}/ns/pid`, 'r');
    try {
      process.kill(pid1, 'SIGKILL');
      await holder.exited;
      // Its last renewal: nothing touches the lock any more.
      const lastRenewal = statSync(path).mtimeMs;

      const next = inNamespace('try', DYING);
      const looked = await next.next('looked');
      // The next run is pid 1 too, and so sees "pid 1" running: the old rule refused it forever.
      expect(looked).toMatchObject({ pid: 1, holderPid: 1, holderPidRunsHere: true });
      expect(looked.pidNs).not.toBe(left.pidNs);
      const acquired = await next.next('acquired');
      expect(acquired.pid).toBe(1);
      // Not before the dead holder's lease ran out (same clock: both are this machine's), and by
      // the lease it recorded, not a longer default.
      expect(acquired.at as number).toBeGreaterThanOrEqual(lastRenewal + DYING.leaseMs - 5);
      expect(acquired.at as number).toBeLessThan(lastRenewal + DYING.leaseMs + 8_000);
      expect(await next.exited).toBe(0);
      expect(existsSync(path)).toBe(false);
    } finally {
      closeSync(namespace);
    }
  });

  it.each([
    ['its pid runs here too (our pid 1 is another process)', false],
    ['its pid runs nowhere in the judging namespace', true],
  ])('a LIVE holder in another namespace is never taken over: %s', async (_label, judgedFromNamespace) => {
    const holder = inNamespace('hold', LIVE, judgedFromNamespace);
    const holderPid = (await holder.next('held')).pid as number;
    const held = readFileSync(path, 'utf8');
    expect(JSON.parse(held)).toMatchObject({ pid: holderPid });
    if (judgedFromNamespace) expect(holderPid).toBeGreaterThan(100);
    else expect(holderPid).toBe(1);

    if (judgedFromNamespace) {
      const judge = inNamespace('try', LIVE);
      expect(await judge.next('looked')).toMatchObject({ holderPid, holderPidRunsHere: false });
      const locked = await judge.next('locked');
      expect(locked).toMatchObject({ name: 'UploadLockedError', code: 'ERR_OFAUTH_UPLOAD_LOCKED', pid: holderPid });
      // Told by a renewal, not by outlasting a lease (its renewals come 25 times as often).
      expect(locked.ms).toBeLessThan(LIVE.leaseMs);
      expect(await judge.exited).toBe(0);
    } else {
      expect(() => process.kill(1, 0)).not.toThrow();
      const started = Date.now();
      const error = await FileLock.acquire(path).catch((err: unknown) => err);
      expect(Date.now() - started).toBeLessThan(LIVE.leaseMs);
      expect(error).toBeInstanceOf(UploadLockedError);
      expect(error).toMatchObject({ pid: 1, lockPath: path });
    }
    // Untouched, and still held: the holder releases it as its own.
    expect(readFileSync(path, 'utf8')).toBe(held);
    holder.child.stdin?.write('release\n');
    await holder.next('released');
    expect(existsSync(path)).toBe(false);
  });
});
