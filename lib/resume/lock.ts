import { randomUUID } from 'node:crypto';
import { type FileHandle, link, open, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { UploadLockedError } from '../errors';
import { sweepTemps } from './debris';
import { LEASE_MS, type LeaseTiming, RENEW_MS, Renewal, type Seen, recordedLease, watchLease } from './lease';
import { type ProcessIdentity, isRunning, liveness, ownIdentity } from './process-identity';

export interface LockOwner extends ProcessIdentity {
  pid: number;
  host: string;
  /** Tells this holder from a later one with the same pid. */
  token: string;
  since: string;
  /** The holder renews its lease (the file's mtime) well within this. Absent from locks of versions that never renewed. */
  leaseMs?: number;
}

function isLockOwner(value: unknown): value is LockOwner {
  const v = value as Partial<Record<keyof LockOwner, unknown>> | null;
  if (typeof v !== 'object' || v === null) return false;
  const optional = (field: unknown) => field === undefined || typeof field === 'string';
  return (
    Number.isSafeInteger(v.pid) &&
    typeof v.host === 'string' &&
    typeof v.token === 'string' &&
    (v.leaseMs === undefined || typeof v.leaseMs === 'number') &&
    optional(v.bootId) &&
    optional(v.pidNs) &&
    optional(v.timeNs) &&
    optional(v.startTime)
  );
}

interface Found extends Seen {
  owner: LockOwner;
}

/** The lock's record with the inode and mtime of that same file (read through one handle). */
async function readOwner(path: string): Promise<Found | 'missing' | 'unreadable'> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const [stats, text] = await Promise.all([handle.stat(), handle.readFile('utf8')]);
    const parsed: unknown = JSON.parse(text);
    return isLockOwner(parsed) ? { owner: parsed, ino: stats.ino, mtimeMs: stats.mtimeMs } : 'unreadable';
  } catch {
    return 'unreadable';
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Whether a lock's holder is gone. A holder of this kernel, pid namespace and host is judged at
 * once by its pid and start time (a pid reused by another process, as a container's node is pid 1
 * on every start, is not the holder). Any other (another container, host or boot) is judged by
 * its lease. A lock of a version that never renewed keeps that version's rule (gone only when
 * its pid runs no more on this host), so its live holder is never taken over.
 */
async function judge(path: string, found: Found, self: ProcessIdentity): Promise<'alive' | 'dead' | 'replaced'> {
  const { owner } = found;
  if (owner.leaseMs === undefined) return owner.host === hostname() && !isRunning(owner.pid) ? 'dead' : 'alive';
  const here = owner.host === hostname() && owner.bootId !== undefined && owner.bootId === self.bootId && owner.pidNs !== undefined && owner.pidNs === self.pidNs;
  // Start times are only comparable within one time namespace (/proc shifts them by its offset).
  if (here && owner.timeNs === self.timeNs) {
    const verdict = await liveness(owner.pid, owner.startTime, self.startTime !== undefined);
    if (verdict !== 'unknown') return verdict;
  }
  const lease = await watchLease(path, found, recordedLease(owner.leaseMs));
  if (lease === 'lapsed') return 'dead';
  if (lease === 'replaced') return 'replaced';
  // Renewed: by the same holder, unless the file was replaced by one that reused its inode.
  const now = await readOwner(path);
  return typeof now !== 'string' && now.owner.token === owner.token ? 'alive' : 'replaced';
}

/**
 * Creates the lock whole or not at all: written beside, then hard-linked into place (which fails
 * with EEXIST if a lock is there). Resolves to a handle on the lock's inode, or undefined when
 * another lock is in place.
 */
async function place(path: string, owner: LockOwner): Promise<FileHandle | undefined> {
  const draft = `${path}.${owner.token}.tmp`;
  const handle = await open(draft, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`);
    await link(draft, path);
    return handle;
  } catch (error) {
    await handle.close().catch(() => undefined);
    if ((error as { code?: unknown }).code === 'EEXIST') return undefined;
    throw error;
  } finally {
    await unlink(draft).catch(() => undefined);
  }
}

const ATTEMPTS = 3;

/** A draft lives for the few milliseconds of one `place`: one older than this was left by a killed process. */
const ABANDONED_DRAFT_MS = 60_000;

/**
 * An exclusive lock file: one process at a time uploads a given file with resume, so two never
 * share (and corrupt) one session. The holder names itself beyond its pid (boot, pid namespace,
 * start time) and renews a lease while it holds the lock. A lock whose holder is gone (a crash,
 * SIGKILL, an OOM-killed container) is taken over; one whose holder lives makes `acquire` fail
 * with UploadLockedError naming the file: at once, or, for a holder in another pid namespace or
 * on another host, once it is seen renewing (within a renewal period).
 */
export class FileLock {
  readonly path: string;
  readonly #token: string;
  readonly #handle: FileHandle;
  readonly #renewal: Renewal;
  #released: Promise<void> | undefined;

  private constructor(path: string, token: string, handle: FileHandle, renewMs: number) {
    this.path = path;
    this.#token = token;
    this.#handle = handle;
    this.#renewal = new Renewal(handle, renewMs);
  }

  /** `timing` is for tests: every holder should renew alike. */
  static async acquire(path: string, timing: Partial<LeaseTiming> = {}): Promise<FileLock> {
    const { renewMs = RENEW_MS, leaseMs = LEASE_MS } = timing;
    const self = await ownIdentity();
    const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomUUID(), since: new Date().toISOString(), leaseMs, ...self };
    // Bounded (ATTEMPTS rounds): each takes the lock, fails, or looks again after a takeover.
    for (let round = 1; ; round++) {
      const handle = await place(path, owner);
      if (handle !== undefined) {
        await sweepTemps(dirname(path), `${basename(path)}.`, ABANDONED_DRAFT_MS, false);
        return new FileLock(path, owner.token, handle, renewMs);
      }
      const holder = await readOwner(path);
      if (holder === 'missing' && round < ATTEMPTS) continue;
      if (typeof holder === 'string') {
        // Locks are linked in whole, so an unreadable one was not written by this package.
        throw new UploadLockedError(path, 0, 'an unknown host');
      }
      const verdict = await judge(path, holder, self);
      if (verdict === 'alive' || round >= ATTEMPTS) throw new UploadLockedError(path, holder.owner.pid, holder.owner.host);
      if (verdict === 'replaced') continue;
      // 'busy': another process is taking the same stale lock over; look again once it is done.
      // 'lost': it is no longer the stale one; the next round names whoever holds it now.
      if ((await takeOver(path, holder.owner, holder.mtimeMs)) === 'busy') await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops renewing, and removes the lock file if it is still this one's. Idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      await this.#renewal.stop();
      const holder = await readOwner(this.path).catch(() => 'unreadable' as const);
      if (typeof holder !== 'string' && holder.owner.token === this.#token) await unlink(this.path).catch(() => undefined);
      await this.#handle.close().catch(() => undefined);
    })();
    return this.#released;
  }
}

/** A takeover guard older than this was left by a process that died mid-takeover (which takes milliseconds). */
const ABANDONED_GUARD_MS = 30_000;

/**
 * Removes a stale lock, under a guard file created exclusively, so that of several processes
 * taking the same stale lock over, one at a time checks that the lock is still the stale one and
 * removes it: a lock another process has meanwhile taken, or one renewed since it was judged
 * (its mtime moved past `judgedMtimeMs`), is never moved or removed. Whoever then links its lock
 * first holds it. 'busy': another process holds the guard; 'lost': the lock is no longer the
 * stale one.
 */
export async function takeOver(path: string, stale: LockOwner, judgedMtimeMs?: number): Promise<'removed' | 'busy' | 'lost'> {
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
    if (typeof holder === 'string' || holder.owner.token !== stale.token) return 'lost';
    if (judgedMtimeMs !== undefined && holder.mtimeMs !== judgedMtimeMs) return 'lost';
    await unlink(path);
    return 'removed';
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}
