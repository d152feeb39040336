import type { IncomingMessage } from 'node:http';
import { fail, type Answer } from './answer';
import type { Lifecycle } from './lifecycle';
import type { RequestRecord } from './types';

export type BodyOutcome = 'complete' | 'aborted' | 'stopped';

export interface BodyOptions {
  lifecycle: Lifecycle;
  record: RequestRecord;
  /** Throttle (slowRead fault): pause the request whenever it runs ahead of this rate. */
  bytesPerSecond?: number;
  /** Stop reading (and resolve 'stopped') once this many bytes have been read. */
  stopAfter?: number;
}

/**
 * Reads a request body chunk by chunk, handing each chunk to `onChunk` as it arrives: no copies,
 * no per-byte JS, so the emulator drains at native hashing speed. Node's parser already enforces
 * Content-Length, so 'complete' means every declared byte arrived; 'aborted' means the client went
 * away mid-body and the caller must drop what it got.
 */
export function consumeBody(req: IncomingMessage, onChunk: (chunk: Buffer) => void, options: BodyOptions): Promise<BodyOutcome> {
  if (req.readableEnded) return Promise.resolve('complete');
  const { lifecycle, record, bytesPerSecond, stopAfter } = options;
  const startedAt = Date.now();
  let bytes = 0;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: BodyOutcome): void => {
      if (settled) return;
      settled = true;
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
          req.pause();
          void lifecycle.sleep(wait).then((slept) => {
            if (slept && !settled) req.resume();
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
    req.resume();
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
