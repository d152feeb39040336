import { randomUUID } from 'node:crypto';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UploadLockedError } from '../errors';

export interface LockOwner {
  pid: number;
  host: string;
  /** Tells this holder from a later one with the same pid. */
  token: string;
  since: string;
}

function isLockOwner(value: unknown): value is LockOwner {
  const v = value as Partial<LockOwner> | null;
  return typeof v === 'object' && v !== null && Number.isSafeInteger(v.pid) && typeof v.host === 'string' && typeof v.token === 'string';
}

/** Whether `pid` names a running process on this machine (EPERM: it runs, as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<LockOwner | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isLockOwner(parsed) ? parsed : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** A lock this process's pid no longer backs: its holder is gone (same machine, pid not running). */
function isStale(owner: LockOwner): boolean {
  return owner.host === hostname() && !isRunning(owner.pid);
}

const ATTEMPTS = 3;

/**
 * An exclusive lock file: one process at a time uploads a given file with resume, so two never
 * share (and corrupt) one session. It is created whole or not at all (written beside, then
 * hard-linked into place, which fails if it exists). A lock whose holder's pid is no longer
 * running on this machine (a crash, SIGKILL) is taken over; any other makes `acquire` fail at once
 * with UploadLockedError naming the file.
 */
export class FileLock {
  readonly path: string;
  readonly #token: string;
  #released: Promise<void> | undefined;

  private constructor(path: string, token: string) {
    this.path = path;
    this.#token = token;
  }

  static async acquire(path: string): Promise<FileLock> {
    const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomUUID(), since: new Date().toISOString() };
    const draft = `${path}.${owner.token}.tmp`;
    await writeFile(draft, `${JSON.stringify(owner)}\n`, { mode: 0o600, flag: 'wx' });
    try {
      // Bounded (ATTEMPTS rounds): each takes the lock, fails, or looks again after a takeover.
      for (let round = 1; ; round++) {
        try {
          await link(draft, path);
          return new FileLock(path, owner.token);
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
        }
        const holder = await readOwner(path);
        if (holder === 'missing' && round < ATTEMPTS) continue;
        if (typeof holder === 'string') {
          // Locks are linked in whole, so an unreadable one was not written by this package.
          throw new UploadLockedError(path, 0, 'an unknown host');
        }
        if (!isStale(holder) || round >= ATTEMPTS) throw new UploadLockedError(path, holder.pid, holder.host);
        // 'busy': another process is taking the same stale lock over; look again once it is done.
        // 'lost': it is no longer the stale one; the next round names whoever holds it now.
        if ((await takeOver(path, holder)) === 'busy') await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await unlink(draft).catch(() => undefined);
    }
  }

  /** Removes the lock file if it is still this one's. Idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      const holder = await readOwner(this.path).catch(() => 'unreadable' as const);
      if (typeof holder !== 'string' && holder.token === this.#token) await unlink(this.path).catch(() => undefined);
    })();
    return this.#released;
  }
}

/** A takeover guard older than this was left by a process that died mid-takeover (which takes milliseconds). */
const ABANDONED_GUARD_MS = 30_000;

/**
 * Removes a stale lock, under a guard file created exclusively, so that of several processes
 * taking the same stale lock over, one at a time checks that the lock is still the stale one and
 * removes it: a lock another process has meanwhile taken is never moved or removed. Whoever then
 * links its lock first holds it. 'busy': another process holds the guard; 'lost': the lock is no
 * longer the stale one.
 */
export async function takeOver(path: string, stale: LockOwner): Promise<'removed' | 'busy' | 'lost'> {
  const guard = `${path}.takeover`;
  try {
    await writeFile(guard, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > ABANDONED_GUARD_MS) await unlink(guard).catch(() => undefined);
    return 'busy';
  }
  try {
    const holder = await readOwner(path);
    if (holder === 'missing') return 'removed';
    if (typeof holder === 'string' || holder.token !== stale.token) return 'lost';
    await unlink(path);
    return 'removed';
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}
