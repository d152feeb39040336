/**
 * Runs `work` over `items`, at most `jobs` at once, in order; once `signal` is aborted no further
 * item is started (those running finish on their own). Resolves with how many were started.
 * `work` must not throw: each item's failure is its own outcome.
 */
export async function runPool<T>(items: readonly T[], jobs: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!signal.aborted && next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return next;
}
