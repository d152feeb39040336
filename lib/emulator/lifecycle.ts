import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';

/**
 * Everything that must stop when the emulator closes: sleeps, throttles, hanging requests and
 * open sockets. Fault actions park requests on purpose, so close() must be able to cut them all.
 */
export class Lifecycle {
  private readonly controller = new AbortController();

  constructor() {
    // Every delayed, throttled or hanging request waits on this one signal: dozens at once are
    // normal under load, not a leak, so Node's listener warning is turned off for it.
    setMaxListeners(0, this.controller.signal);
  }
  private readonly sockets = new Set<Socket>();

  get closed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Resolves true after `ms`, or false as soon as the emulator closes. */
  sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    const signal = this.controller.signal;
    return new Promise((resolve) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.controller.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  close(): void {
    this.controller.abort();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}
