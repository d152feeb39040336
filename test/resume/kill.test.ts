import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultRule, RequestRecord } from '../../lib/emulator';
import { type ChildEmulator, startChildEmulator } from '../emulator-child';
import { MiB, bytes, sha256 } from '../helpers';

// The proof of resume: a real process, killed with SIGKILL mid-upload (no handler runs, nothing is
// flushed), then the same upload started again. The emulator runs in a process of its own, so it
// outlives the client and its request log tells what each run sent.

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'upload-file.mjs');
const API_KEY = 'sk_live_kill_test_secret_77';
const PART = 4 * MiB;
const PARTS = 16; // 64 MiB
const FAST_PARTS = 6;

let emu: ChildEmulator;
let dir: string;
let resumeDir: string;
let path: string;
let fileSha256: string;

beforeAll(async () => {
  emu = await startChildEmulator({ apiKey: API_KEY, partSize: PART, mode: 'multipart', hashing: 'sha256' });
  dir = mkdtempSync(join(tmpdir(), 'kill-test-'));
  resumeDir = join(dir, 'journals');
  path = join(dir, 'clip.mp4');
  const data = bytes(PARTS * PART, 64);
  fileSha256 = sha256(data);
  writeFileSync(path, data);
});

/** Children still running when a test ends (it failed before killing them) are killed, so no test inherits another's lock. */
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(): Run {
  const child = spawn(process.execPath, [FIXTURE, JSON.stringify({ path, baseUrl: emu.url, apiKey: API_KEY, resumeDir, concurrency: 4 })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const events: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, events, exited };
}

function journalParts(): number[] | undefined {
  const name = existsSync(resumeDir) ? readdirSync(resumeDir).find((f) => f.endsWith('.json')) : undefined;
  if (name === undefined) return undefined;
  try {
    return (JSON.parse(readFileSync(join(resumeDir, name), 'utf8')) as { parts: Array<{ partNumber: number }> }).parts.map((p) => p.partNumber).sort((a, b) => a - b);
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Parts 1-6 slowed a little; every later part crawls, so the first run is killed with exactly six acknowledged. */
const slowed: FaultRule[] = Array.from({ length: PARTS }, (_, i) => ({
  route: 'part',
  partNumber: i + 1,
  action: { type: 'slowRead', bytesPerSecond: i < FAST_PARTS ? 48 * MiB : 256 * 1024 },
}));

const partLog = (requests: RequestRecord[]) => requests.filter((r) => r.route === 'part').map((r) => `${r.partNumber}:${r.status}`);

describe('kill test: SIGKILL mid-upload, then the same command again', () => {
  it('the second run PUTs exactly the parts the first did not get acknowledged, completes once, sha256 intact, journal gone', async () => {
    await emu.setFaults(slowed);
    const first = start();
    const acknowledged = await until('six parts in the journal', () => (journalParts()?.length === FAST_PARTS ? journalParts() : undefined));
    // Every later part crawls: nothing more can be acknowledged before the kill.
    await new Promise((r) => setTimeout(r, 100));
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(first.events).toEqual([]);

    const runOne = await emu.requests();
    const ackedByServer = runOne.filter((r) => r.route === 'part' && r.status === 200).map((r) => r.partNumber);
    expect(acknowledged).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ackedByServer.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(acknowledged);
    // The parts cut off mid-body were never stored.
    const cut = runOne.filter((r) => r.route === 'part' && r.status !== 200);
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.every((r) => r.bytesReceived < PART)).toBe(true);
    expect(runOne.filter((r) => r.route === 'complete')).toEqual([]);
    // The journal holds the session and etags, never the key; the dead process's lock is still there.
    const left = readdirSync(resumeDir).sort();
    expect(left.map((f) => f.replace(/^[0-9a-f]+/, 'ID'))).toEqual(['ID.json', 'ID.lock']);
    for (const file of left) expect(readFileSync(join(resumeDir, file)).includes(API_KEY)).toBe(false);

    await emu.setFaults([]);
    const second = start();
    expect(await second.exited).toEqual({ code: 0, signal: null });
    const all = await emu.requests();
    const runTwo = all.slice(runOne.length);
    const sessionId = runOne.find((r) => r.route === 'init')?.mediaUploadId ?? (runOne.find((r) => r.route === 'part')?.mediaUploadId as string);

    expect(second.events).toEqual([
      { event: 'resume', mediaUploadId: sessionId, partsDone: FAST_PARTS, bytesDone: FAST_PARTS * PART, totalParts: PARTS, restarted: false },
      { event: 'result', mediaUploadId: sessionId, parts: PARTS, size: PARTS * PART },
    ]);
    const putTwice = runTwo.filter((r) => r.route === 'part').map((r) => r.partNumber).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(putTwice).toEqual(Array.from({ length: PARTS - FAST_PARTS }, (_, i) => FAST_PARTS + i + 1));
    expect(runTwo.filter((r) => r.route === 'part').every((r) => r.status === 200)).toBe(true);
    expect(runTwo.map((r) => r.route).filter((route) => route !== 'part')).toEqual(['complete']);
    expect((await emu.media(sessionId))?.sha256).toBe(fileSha256);
    expect(readdirSync(resumeDir)).toEqual([]);

    // The two runs, as the closing note wants them.
    console.log(`[kill test] run 1 (SIGKILLed): ${partLog(runOne).join(' ')}`);
    console.log(`[kill test] run 2: ${partLog(runTwo).join(' ')}; ${runTwo.filter((r) => r.route === 'complete').length} complete`);
  });

  it('two processes uploading the same file with resume: the second fails at once, naming the lock, and sends nothing', async () => {
    await emu.setFaults(slowed.map((rule) => ({ ...rule, action: { type: 'slowRead', bytesPerSecond: 256 * 1024 } })));
    const before = (await emu.requests()).length;
    const first = start();
    const lock = await until('the lock', () => (existsSync(resumeDir) ? readdirSync(resumeDir).find((f) => f.endsWith('.lock')) : undefined));
    const started = Date.now();
    const second = start();
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(second.events).toEqual([
      expect.objectContaining({ event: 'error', name: 'UploadLockedError', code: 'ERR_OFAUTH_UPLOAD_LOCKED', lockPath: join(resumeDir, lock) }),
    ]);
    expect(String(second.events[0]?.message)).toContain(`pid ${first.child.pid}`);
    first.child.kill('SIGKILL');
    await first.exited;
    const inits = (await emu.requests()).slice(before).filter((r) => r.route === 'init');
    expect(inits).toHaveLength(1);
    await emu.setFaults([]);
  });
});
