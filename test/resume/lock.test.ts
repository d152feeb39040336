import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UploadLockedError } from '../../lib/errors';
import { FileLock, takeOver } from '../../lib/resume/lock';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lock-'));
  path = join(dir, 'upload.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited (and so runs no more). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('FileLock', () => {
  it('one holder at a time: a second acquire fails at once with UploadLockedError naming the file and holder', async () => {
    const lock = await FileLock.acquire(path);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    const error = await FileLock.acquire(path).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UploadLockedError);
    expect(error).toMatchObject({ code: 'ERR_OFAUTH_UPLOAD_LOCKED', lockPath: path, pid: process.pid });
    expect((error as Error).message).toContain(path);
    await lock.release();
    expect(existsSync(path)).toBe(false);
    const again = await FileLock.acquire(path);
    await again.release();
    // Nothing but the lock was ever created here (the drafts are gone).
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a lock whose holder is gone (its pid no longer runs here) is taken over', async () => {
    const pid = deadPid();
    writeFileSync(path, JSON.stringify({ pid, host: hostname(), token: 'crashed', since: new Date().toISOString() }));
    const lock = await FileLock.acquire(path);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a lock held on another host, or one it cannot read, is not taken over', async () => {
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, token: 't', since: '' }));
    await expect(FileLock.acquire(path)).rejects.toBeInstanceOf(UploadLockedError);
    writeFileSync(path, 'garbage');
    await expect(FileLock.acquire(path)).rejects.toBeInstanceOf(UploadLockedError);
    expect(readFileSync(path, 'utf8')).toBe('garbage');
  });

  it('release leaves alone a lock that is no longer its own', async () => {
    const lock = await FileLock.acquire(path);
    const other = JSON.stringify({ pid: process.pid, host: hostname(), token: 'someone-else', since: '' });
    writeFileSync(path, other);
    await lock.release();
    expect(readFileSync(path, 'utf8')).toBe(other);
  });

  it('a takeover guard left by a process that died mid-takeover is cleared, and the stale lock taken over', async () => {
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: hostname(), token: 'crashed', since: '' }));
    writeFileSync(`${path}.takeover`, '1\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.takeover`, old, old);
    const lock = await FileLock.acquire(path);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(existsSync(`${path}.takeover`)).toBe(false);
    await lock.release();
  });

  it('a fresh takeover guard (another process taking over right now) is left alone: this one does not get the lock', async () => {
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: hostname(), token: 'crashed', since: '' }));
    writeFileSync(`${path}.takeover`, '1\n');
    await expect(FileLock.acquire(path)).rejects.toBeInstanceOf(UploadLockedError);
    expect(existsSync(`${path}.takeover`)).toBe(true);
  });

  it('a takeover never removes a lock that is no longer the stale one it was asked to remove', async () => {
    const stale = { pid: deadPid(), host: hostname(), token: 'crashed', since: '' };
    // Between reading the stale lock and taking it over, another process took it.
    const live = await FileLock.acquire(path);
    const before = readFileSync(path, 'utf8');
    expect(await takeOver(path, stale)).toBe('lost');
    expect(readFileSync(path, 'utf8')).toBe(before);
    await live.release();
  });

  it('two takeovers of one stale lock at once: exactly one wins', async () => {
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: hostname(), token: 'crashed', since: '' }));
    const outcomes = await Promise.allSettled([FileLock.acquire(path), FileLock.acquire(path), FileLock.acquire(path)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)).toEqual([
      expect.any(UploadLockedError),
      expect.any(UploadLockedError),
    ]);
    await (won[0] as PromiseFulfilledResult<FileLock>).value.release();
  });
});

/** This process as a holder would name itself, read here from /proc independently of the code under test. */
function ownIdentity(): { bootId: string; pidNs: string; timeNs?: string; startTime: string } {
  const timeNs = existsSync('/proc/self/ns/time') ? readlinkSync('/proc/self/ns/time') : undefined;
  return {
    bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    pidNs: readlinkSync('/proc/self/ns/pid'),
    ...(timeNs === undefined ? {} : { timeNs }),
    startTime: startTimeOf(process.pid),
  };
}

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

/** A lock as this version writes it, for a holder of this machine and pid namespace, renewed just now. */
function renewingLock(pid: number, startTime: string, token = 'holder'): void {
  writeFileSync(path, JSON.stringify({ pid, host: hostname(), token, since: new Date().toISOString(), leaseMs: 60_000, ...ownIdentity(), startTime }));
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Inodes this process holds open (every entry of /proc/self/fd, followed). */
function openInodes(): number[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [statSync(`/proc/self/fd/${fd}`).ino];
    } catch {
      return [];
    }
  });
}

describe('FileLock: a holder of this machine and pid namespace is judged at once, by pid and start time', () => {
  it('a recorded pid now running another process (its start time differs) is taken over at once, well within the lease', async () => {
    renewingLock(process.pid, String(Number(startTimeOf(process.pid)) + 1));
    const started = Date.now();
    const lock = await FileLock.acquire(path);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid, startTime: startTimeOf(process.pid) });
    await lock.release();
  });

  it('a dead pid is taken over at once, though its lease was renewed just now', async () => {
    renewingLock(deadPid(), '1');
    const started = Date.now();
    const lock = await FileLock.acquire(path);
    expect(Date.now() - started).toBeLessThan(10_000);
    await lock.release();
  });

  it('a zombie (killed, not yet reaped) holds no lock', async () => {
    // The inner shell exits; its parent then execs sleep, which never reaps it.
    const parent = spawn('sh', ['-c', 'sh -c \'echo $$\' & exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (text: Buffer) => resolve(Number(text.toString()))));
      const state = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      await until('the zombie', () => state() === 'Z');
      renewingLock(pid, startTimeOf(pid));
      const lock = await FileLock.acquire(path);
      await lock.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('the recorded pid with its own start time is alive: UploadLockedError at once, the lock left alone', async () => {
    renewingLock(process.pid, startTimeOf(process.pid));
    const before = readFileSync(path, 'utf8');
    const started = Date.now();
    await expect(FileLock.acquire(path)).rejects.toMatchObject({ code: 'ERR_OFAUTH_UPLOAD_LOCKED', pid: process.pid });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('a lock of a version that never renewed keeps its rule: its running holder is not taken over, however old its mtime', async () => {
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), token: 'old-version', since: '' }));
    const old = new Date(Date.now() - 86_400_000);
    utimesSync(path, old, old);
    await expect(FileLock.acquire(path)).rejects.toBeInstanceOf(UploadLockedError);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ token: 'old-version' });
  });

  it('a takeover never removes a lock renewed since it was judged stale', async () => {
    const stale = { pid: deadPid(), host: hostname(), token: 'renewed', since: '', leaseMs: 3000 };
    writeFileSync(path, JSON.stringify(stale));
    const judged = statSync(path).mtimeMs - 1000;
    expect(await takeOver(path, stale, judged)).toBe('lost');
    expect(existsSync(path)).toBe(true);
    expect(await takeOver(path, stale, statSync(path).mtimeMs)).toBe('removed');
  });
});

describe('FileLock: the lease', () => {
  it('is renewed (the mtime moves) while held; after release no renewal runs and no handle is left open', async () => {
    const lock = await FileLock.acquire(path, { renewMs: 50, leaseMs: 1000 });
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    await until('a renewal', () => statSync(path).mtimeMs > old.getTime() + 30_000);
    // The lock's inode, kept past its release.
    const kept = join(dir, 'kept');
    linkSync(path, kept);
    const { ino } = statSync(kept);
    expect(openInodes()).toContain(ino);
    await lock.release();
    expect(existsSync(path)).toBe(false);
    utimesSync(kept, old, old);
    const frozen = statSync(kept).mtimeMs;
    // Long enough for ten renewals, had they not stopped (waiting can only miss a wrong outcome, not invent one).
    await new Promise((r) => setTimeout(r, 500));
    expect(statSync(kept).mtimeMs).toBe(frozen);
    expect(openInodes()).not.toContain(ino);
  });

  it('holding a lock keeps no process alive (the renewal timer is unref\'d)', () => {
    const bundle = join(dir, 'lock.mjs');
    const root = join(__dirname, '..', '..');
    execFileSync(join(root, 'node_modules', '.bin', 'esbuild'), ['lib/resume/lock.ts', '--bundle', '--platform=node', '--format=esm', `--outfile=${bundle}`, '--log-level=warning'], { cwd: root });
    const script = `const { FileLock } = await import(${JSON.stringify(pathToFileURL(bundle).href)}); await FileLock.acquire(${JSON.stringify(path)}, { renewMs: 20 });`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect({ status: child.status, signal: child.signal, stderr: child.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: child.pid });
  });
});
