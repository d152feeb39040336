import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
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
