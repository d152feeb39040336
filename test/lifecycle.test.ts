import { getEventListeners } from 'node:events';
import { Agent, type Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { AbortError, OFAuthUploadStream } from '../lib/index';
import { KiB, bytes, emulatorFixture } from './helpers';

const API_KEY = 'sk_live_lifecycle_secret_9';
const { start: emulator, uploadOptions: options } = emulatorFixture({ apiKey: API_KEY, partSize: 64 * KiB });

const TERMINAL = new Set(['onComplete', 'onError', 'onResponseEnd', 'onResponseError']);

/**
 * A dispatcher that counts requests whose handler has not been told they are over, and can
 * hold that news back for `lateMs` after a failure (a dispatcher slow to honour an abort).
 */
function countingDispatcher(lateMs = 0): { dispatcher: Dispatcher; open: () => number; close: () => Promise<void> } {
  const agent = new Agent();
  let open = 0;
  const dispatcher = agent.compose((dispatch) => (opts, handler) => {
    open++;
    let over = false;
    const finish = () => {
      if (!over) open--;
      over = true;
    };
    const wrapped = new Proxy(handler, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        // Bound to the real handler: undici's handlers keep private state a proxy cannot reach.
        if (typeof prop !== 'string' || !TERMINAL.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) => {
          const isFailure = prop === 'onError' || prop === 'onResponseError';
          const run = () => {
            finish();
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
          if (isFailure && lateMs > 0) setTimeout(run, lateMs);
          else return run();
        };
      },
    });
    return dispatch(opts, wrapped);
  });
  return { dispatcher, open: () => open, close: () => agent.close() };
}

describe("'close' means nothing of this upload is in flight", () => {
  it('destroy() while init is in flight: close comes only after init has settled', async () => {
    const e = await emulator({ faults: [{ route: 'init', action: { type: 'hang' } }] });
    const counting = countingDispatcher();
    const upload = new OFAuthUploadStream(options(e, 100, { dispatcher: counting.dispatcher }));
    upload.on('error', () => {});
    upload.write(bytes(10, 1));
    for (let i = 0; i < 100 && counting.open() === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(counting.open()).toBe(1);
    const openAtClose = new Promise<number>((resolve) => upload.on('close', () => resolve(counting.open())));
    upload.destroy();
    expect(await openAtClose).toBe(0);
    await counting.close();
  });

  it('destroy() while complete is in flight: close comes only after complete has settled', async () => {
    const e = await emulator({ mode: 'multipart', faults: [{ route: 'complete', action: { type: 'hang' } }] });
    // The dispatcher reports the cancelled request over only 600 ms after the abort.
    const counting = countingDispatcher(600);
    const upload = new OFAuthUploadStream(options(e, 2 * 64 * KiB, { dispatcher: counting.dispatcher }));
    upload.on('error', () => {});
    upload.end(bytes(2 * 64 * KiB, 3));
    for (let i = 0; i < 200 && !e.requests.some((r) => r.route === 'complete'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(counting.open()).toBe(1);
    const openAtClose = new Promise<number>((resolve) => upload.on('close', () => resolve(counting.open())));
    upload.destroy(new Error('stop'));
    expect(await openAtClose).toBe(0);
    await counting.close();
  });

  it('a request slow to honour the abort holds close back (no grace period that pretends)', async () => {
    const e = await emulator({ faults: [{ route: 'part', action: { type: 'hang' } }] });
    const counting = countingDispatcher(1500);
    const upload = new OFAuthUploadStream(options(e, 3 * 64 * KiB, { dispatcher: counting.dispatcher }));
    upload.on('error', () => {});
    upload.write(bytes(3 * 64 * KiB, 2));
    for (let i = 0; i < 200 && e.requests.filter((r) => r.route === 'part').length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    const closed = new Promise<{ open: number; ms: number }>((resolve) =>
      upload.on('close', () => resolve({ open: counting.open(), ms: Date.now() - started })),
    );
    upload.destroy(new Error('stop'));
    const { open, ms } = await closed;
    expect(open).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(1400);
    await counting.close();
  });
});

describe('the caller’s signal', () => {
  it('a stream that is created and dropped unused does not keep a listener on a long-lived signal', async () => {
    const e = await emulator();
    const controller = new AbortController();
    const listeners = () => getEventListeners(controller.signal, 'abort').length;
    (() => {
      for (let i = 0; i < 5; i++) new OFAuthUploadStream(options(e, 10, { signal: controller.signal }));
    })();
    expect(listeners()).toBe(5);
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc').toBeTypeOf('function');
    for (let i = 0; i < 50 && listeners() > 0; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(listeners()).toBe(0);
  });

  it('a stream kept but never written to is still destroyed by the signal', async () => {
    const e = await emulator();
    const controller = new AbortController();
    const upload = new OFAuthUploadStream(options(e, 10, { signal: controller.signal }));
    const failed = new Promise<unknown>((resolve) => upload.on('error', resolve));
    controller.abort();
    expect(await failed).toBeInstanceOf(AbortError);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(e.requests).toHaveLength(0);
  });
});
