/**
 * Callers waiting their turn for something (a free part buffer, a sending slot), first come
 * first served. A waiter whose signal aborts leaves the line with the signal's reason.
 */
export class Waiters<T> {
  #line: Array<{ resolve: (value: T) => void; reject: (reason: unknown) => void }> = [];

  get size(): number {
    return this.#line.length;
  }

  wait(signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.#line = this.#line.filter((w) => w !== waiter);
        reject(signal.reason);
      };
      const waiter = {
        resolve: (value: T) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (reason: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(reason);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#line.push(waiter);
    });
  }

  /** Hands `value` to the first in line; false when nobody waits. */
  wakeOne(value: T): boolean {
    const waiter = this.#line.shift();
    waiter?.resolve(value);
    return waiter !== undefined;
  }

  rejectAll(reason: unknown): void {
    const line = this.#line;
    this.#line = [];
    for (const waiter of line) waiter.reject(reason);
  }
}
