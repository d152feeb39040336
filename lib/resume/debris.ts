import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The temp files this package writes beside journals and locks, and no others (a resume dir may
 * be shared, /tmp even): `<name>.json.<pid>.tmp` (a journal being replaced) and
 * `<name>.lock.<uuid>.tmp` (a lock being placed). Each lives for milliseconds; a `kill -9` at
 * that moment leaves it for good.
 */
const TEMP = /^[0-9a-f]{32}\.(?:json\.\d+|lock\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.tmp$/;

/** Older than this, such a file was surely abandoned, whoever wrote it. */
export const ABANDONED_TEMP_MS = 3_600_000;

/**
 * Removes from `dir` the temp files named `<prefix>…tmp` older than `ownOlderThanMs` (0: all;
 * the caller knows no one writes them now), and, when `others` is set, any of the package's temp
 * files older than an hour. Best effort: debris never fails an upload.
 */
export async function sweepTemps(dir: string, prefix: string, ownOlderThanMs: number, others: boolean): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  await Promise.all(
    names.map(async (name) => {
      const own = name.startsWith(prefix) && name.endsWith('.tmp');
      if (!own && !(others && TEMP.test(name))) return;
      const limit = own ? ownOlderThanMs : ABANDONED_TEMP_MS;
      const path = join(dir, name);
      if (limit > 0) {
        const age = await stat(path).then((s) => now - s.mtimeMs, () => -1);
        if (age <= limit) return;
      }
      await unlink(path).catch(() => undefined);
    }),
  );
}
