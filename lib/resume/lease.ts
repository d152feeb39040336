import type { FileHandle } from 'node:fs/promises';
import { stat } from 'node:fs/promises';

/**
 * A holder renews every RENEW_MS; its lock counts as abandoned once LEASE_MS pass without a
 * renewal. The gap (seven missed renewals) absorbs a stalled event loop, GC pauses, a slow
 * network disk and clocks that disagree by a few seconds, so a live holder is not taken over; it
 * costs only a rerun that follows a crash in another pid namespace within 15 s, which waits for
 * the rest of the lease. Each holder records its lease in the lock, so a later version may choose
 * other numbers without being misjudged.
 */
export const RENEW_MS = 2_000;
export const LEASE_MS = 15_000;
/** A recorded lease beyond this is not believed: no damaged or hostile lock file blocks for longer. */
const MAX_LEASE_MS = 600_000;

export interface LeaseTiming {
  renewMs: number;
  leaseMs: number;
}

/** The lease a holder recorded, or the default for a record that names none usable. */
export function recordedLease(leaseMs: unknown): number {
  return typeof leaseMs === 'number' && Number.isSafeInteger(leaseMs) && leaseMs > 0 ? Math.min(leaseMs, MAX_LEASE_MS) : LEASE_MS;
}

/**
 * Renews a held lock: touches its mtime through the holder's own handle, so it can only ever
 * renew the lock it created (never one that replaced it after a takeover). The timer is unref'd:
 * holding a lock keeps no process alive.
 */
export class Renewal {
  readonly #handle: FileHandle;
  readonly #timer: NodeJS.Timeout;
  #touching: Promise<void> | undefined;

  constructor(handle: FileHandle, renewMs: number) {
    this.#handle = handle;
    this.#timer = setInterval(() => this.#touch(), renewMs);
    this.#timer.unref();
  }

  #touch(): void {
    // A disk too slow to finish one touch in time gets no pile of them.
    if (this.#touching !== undefined) return;
    const now = new Date();
    this.#touching = this.#handle
      .utimes(now, now)
      .catch(() => undefined)
      .finally(() => {
        this.#touching = undefined;
      });
  }

  /** No renewal runs once this resolves. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#touching;
  }
}

export interface Seen {
  ino: number;
  mtimeMs: number;
}

/**
 * Watches a lock whose holder cannot be told alive or dead directly, until its lease tells:
 * 'renewed' (its mtime moved: the holder lives), 'lapsed' (the lease ran out unrenewed) or
 * 'replaced' (the file was removed or replaced meanwhile). The lease is counted from the last
 * renewal the mtime shows, so a lock abandoned long ago is taken over at once; the wait itself
 * is timed on this process's monotonic clock, and ends at the first renewal.
 */
export async function watchLease(path: string, seen: Seen, leaseMs: number): Promise<'renewed' | 'lapsed' | 'replaced'> {
  // An mtime in the future (a holder whose clock runs ahead) waits one lease, no longer.
  const left = Math.min(leaseMs, leaseMs - (Date.now() - seen.mtimeMs));
  if (left <= 0) return 'lapsed';
  const deadline = performance.now() + left;
  const pollMs = Math.min(250, Math.max(20, Math.floor(leaseMs / 20)));
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - performance.now()))));
    const now = await stat(path).catch(() => undefined);
    if (now === undefined || now.ino !== seen.ino) return 'replaced';
    if (now.mtimeMs !== seen.mtimeMs) return 'renewed';
    if (performance.now() >= deadline) return 'lapsed';
  }
}
