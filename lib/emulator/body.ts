import type { IncomingMessage } from 'node:http';
import { fail, type Answer } from './answer';
import type { Lifecycle } from './lifecycle';
import type { RequestRecord } from './types';

export type BodyOutcome = 'complete' | 'aborted' | 'stopped';

/**
 * A switch another part of the emulator flips to stop a body from being read for a while
 * (backpressure: the request is paused, so the client's socket fills and its sender waits).
 * Only one reader listens at a time.
 */
export class FlowGate {
  private isClosed = false;
  private listener: (() => void) | undefined;

  get closed(): boolean {
    return this.isClosed;
  }

  set(closed: boolean): void {
    if (closed === this.isClosed) return;
    this.isClosed = closed;
    this.listener?.();
  }

  /** undefined stops listening. */
  listen(listener: (() => void) | undefined): void {
    this.listener = listener;
  }
}

export interface BodyOptions {
  lifecycle: Lifecycle;
  record: RequestRecord;
  /** Throttle (slowRead fault): pause the request whenever it runs ahead of this rate. */
  bytesPerSecond?: number;
  /** Stop reading (and resolve 'stopped') once this many bytes have been read. */
  stopAfter?: number;
  /** While closed, the request is paused (on top of any throttle). */
  gate?: FlowGate;
}

/**
 * Reads a request body chunk by chunk, handing each chunk to `onChunk` as it arrives: no copies,
 * no per-byte JS, so the emulator drains at native hashing speed. Node's parser already enforces
 * Content-Length, so 'complete' means every declared byte arrived; 'aborted' means the client went
 * away mid-body and the caller must drop what it got.
 */
export function consumeBody(req: IncomingMessage, onChunk: (chunk: Buffer) => void, options: BodyOptions): Promise<BodyOutcome> {
  if (req.readableEnded) return Promise.resolve('complete');
  const { lifecycle, record, bytesPerSecond, stopAfter, gate } = options;
  const startedAt = Date.now();
  let bytes = 0;
  return new Promise((resolve) => {
    let settled = false;
    let throttled = false;
    // Reads flow only when neither the throttle nor the gate holds them.
    const flow = (): void => {
      if (settled) return;
      if (throttled || gate?.closed) req.pause();
      else req.resume();
    };
    const settle = (outcome: BodyOutcome): void => {
      if (settled) return;
      settled = true;
      gate?.listen(undefined);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      // Removing the 'data' listener does not stop a flowing stream: pause, or bytes would be lost.
      if (outcome !== 'complete') req.pause();
      if (outcome === 'aborted') record.error ??= 'request body ended early';
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      record.bytesReceived += chunk.length;
      onChunk(chunk);
      if (stopAfter !== undefined && bytes >= stopAfter) {
        req.pause();
        settle('stopped');
        return;
      }
      if (bytesPerSecond !== undefined) {
        const wait = startedAt + (bytes * 1000) / bytesPerSecond - Date.now();
        if (wait > 0) {
          throttled = true;
          req.pause();
          void lifecycle.sleep(wait).then((slept) => {
            throttled = false;
            if (slept) flow();
          });
        }
      }
    };
    const onEnd = (): void => settle('complete');
    const onClose = (): void => settle(req.complete && req.readableEnded ? 'complete' : 'aborted');
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onClose);
    if (stopAfter === 0) {
      settle('stopped');
      return;
    }
    gate?.listen(flow);
    flow();
  });
}

export type JsonBody = { ok: true; value: unknown } | { ok: false; answer: Answer } | { ok: false; answer: undefined };

const JSON_LIMIT = 64 * 1024;

/** A small JSON request body (init, complete, check). */
export async function readJson(req: IncomingMessage, options: BodyOptions): Promise<JsonBody> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    return { ok: false, answer: fail(400, 'Content-Type must be application/json') };
  }
  const chunks: Buffer[] = [];
  const outcome = await consumeBody(req, (chunk) => chunks.push(chunk), { ...options, stopAfter: JSON_LIMIT + 1 });
  if (outcome === 'aborted') return { ok: false, answer: undefined };
  if (outcome === 'stopped') return { ok: false, answer: fail(413, `JSON body larger than ${JSON_LIMIT} bytes`) };
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { ok: false, answer: fail(400, 'request body is not valid JSON') };
  }
}
