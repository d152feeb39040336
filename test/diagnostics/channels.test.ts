import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../lib/emulator';
import { OFAuthApiError, uploadFile, uploadToVault } from '../../lib/index';
import { KiB, bytes, fastRetry, sha256 } from '../helpers';

const API_KEY = 'sk_live_trace_SECRET_99';
const P = 64 * KiB;
const TRACING = ['upload', 'init', 'part', 'complete'] as const;
const PLAIN = ['retry', 'rate-limit', 'spool', 'resume'] as const;
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;

interface Seen {
  channel: string;
  event: string;
  message: Record<string, unknown>;
  /** A copy of the message's fields as they were when published (later events fill them in). */
  fields: Record<string, unknown>;
}

let emu: Emulator | undefined;
let unsubscribe: (() => void) | undefined;
afterEach(async () => {
  unsubscribe?.();
  unsubscribe = undefined;
  await emu?.close();
  emu = undefined;
});

/** Every event of every channel of the package, in order. */
function record(): Seen[] {
  const seen: Seen[] = [];
  const snapshot = (message: unknown): Record<string, unknown> => {
    const { upload, ...rest } = message as Record<string, unknown>;
    return { ...rest, ...(upload === undefined ? {} : { uploadMediaUploadId: (upload as { mediaUploadId?: unknown }).mediaUploadId }) };
  };
  const undo: Array<() => void> = [];
  for (const name of TRACING) {
    const handlers = Object.fromEntries(
      EVENTS.map((event) => [event, (message: unknown) => seen.push({ channel: name, event, message: message as Record<string, unknown>, fields: snapshot(message) })]),
    );
    const channel = diagnosticsChannel.tracingChannel(`ofauth-upload-stream:${name}`);
    channel.subscribe(handlers as never);
    undo.push(() => channel.unsubscribe(handlers as never));
  }
  for (const name of PLAIN) {
    const handler = (message: unknown) => seen.push({ channel: name, event: 'publish', message: message as Record<string, unknown>, fields: snapshot(message) });
    diagnosticsChannel.subscribe(`ofauth-upload-stream:${name}`, handler);
    undo.push(() => diagnosticsChannel.unsubscribe(`ofauth-upload-stream:${name}`, handler));
  }
  unsubscribe = () => undo.forEach((f) => f());
  return seen;
}

const label = (s: Seen): string => {
  const f = s.fields;
  const what = s.channel === 'part' ? ` ${String(f.partNumber)}#${String(f.attempt)}` : s.channel === 'retry' ? ` ${String(f.request)} ${String(f.partNumber ?? '')}#${String(f.attempt)}` : '';
  return `${s.channel}:${s.event}${what}`;
};

/** JSON of a message with its upload context inlined, errors by name and message. */
function serialized(message: unknown): string {
  return JSON.stringify(message, (_key, value: unknown) => (value instanceof Error ? { ...value, name: value.name, message: value.message } : value));
}

describe('diagnostics channels', () => {
  it('an upload with one 503 and a rate-limit wait: upload, init, parts (the retried one twice, with its retry), the wait, complete, upload end, in order', async () => {
    emu = await startEmulator({
      apiKey: API_KEY,
      partSize: P,
      mode: 'multipart',
      foreignOrigin: true,
      faults: [{ route: 'part', partNumber: 2, nth: 1, action: { type: 'status', status: 503 } }],
      // A bucket of 2 refilled at 10 a second: init and part 1 empty it, the rest wait.
      rateLimit: { perMinute: 600, burst: 2 },
    });
    const seen = record();
    const data = bytes(4 * P, 1);
    const result = await uploadToVault(data, {
      apiKey: API_KEY,
      connectionId: 'conn_trace',
      baseUrl: emu.url,
      filename: 'clip.mp4',
      contentType: 'video/mp4',
      concurrency: 1,
      ...fastRetry,
    });
    expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    const labels = seen.map(label);
    expect(labels[0]).toBe('upload:start');
    expect(labels[1]).toBe('upload:end');
    expect(labels.at(-2)).toBe('upload:asyncStart');
    expect(labels.at(-1)).toBe('upload:asyncEnd');
    const index = (l: string) => labels.indexOf(l);
    expect(labels.slice(2, 6)).toEqual(['init:start', 'init:end', 'init:asyncStart', 'init:asyncEnd']);
    // Part 2's attempt answered 503, then its retry event, then the attempt that stored it.
    const first = seen.findIndex((x) => x.channel === 'part' && x.event === 'asyncEnd' && x.fields.partNumber === 2 && x.fields.statusCode === 503);
    const retry = seen.findIndex((x) => x.channel === 'retry' && x.fields.statusCode === 503);
    const second = seen.findIndex((x, i) => i > retry && x.channel === 'part' && x.event === 'asyncEnd' && x.fields.partNumber === 2 && x.fields.statusCode === 200);
    expect(first).toBeGreaterThan(5);
    expect(retry).toBeGreaterThan(first);
    expect(second).toBeGreaterThan(retry);
    const attempt = Number(seen[first]?.fields.attempt);
    expect(seen[first]?.fields).toMatchObject({ request: 'part', partNumber: 2, bytes: P, mediaUploadId: result.mediaUploadId });
    expect(seen[retry]?.fields).toMatchObject({ request: 'part', partNumber: 2, attempt, statusCode: 503, mediaUploadId: result.mediaUploadId });
    expect(seen[second]?.fields.attempt).toBe(attempt + 1);
    expect(typeof seen[retry]?.fields.delayMs).toBe('number');
    for (const n of [1, 2, 3, 4]) expect(seen.some((x) => x.channel === 'part' && x.event === 'asyncEnd' && x.fields.partNumber === n && x.fields.statusCode === 200)).toBe(true);
    const waits = seen.filter((s) => s.channel === 'rate-limit');
    expect(waits.length).toBeGreaterThan(0);
    expect(['paced', 'refused']).toContain(waits[0]?.fields.reason);
    expect(Number(waits[0]?.fields.waitMs)).toBeGreaterThan(0);
    expect(waits[0]?.fields.request).toMatch(/^(part|complete)$/);
    // Complete after every part, the upload's end after complete.
    const lastPart = Math.max(...labels.map((l, i) => (l.startsWith('part:asyncEnd') ? i : -1)));
    expect(index('complete:start')).toBeGreaterThan(lastPart);
    expect(index('complete:asyncEnd')).toBeLessThan(labels.length - 2);
    // The upload's context: named, sized, the session once known, the result at the end.
    const upload = seen[0]?.message as Record<string, unknown>;
    expect(seen[0]?.fields).toEqual({ filename: 'clip.mp4', size: data.length, contentType: 'video/mp4', connectionId: 'conn_trace', server: new URL(emu.url).origin });
    expect(upload.mediaUploadId).toBe(result.mediaUploadId);
    expect(upload.result).toBe(result);
    for (const s of seen.filter((x) => x.channel !== 'upload')) expect(s.message.upload).toBe(upload);
    // Part URLs were presigned (a signature in the query): no message carries a query, or the key.
    for (const s of seen) {
      const text = serialized(s.message);
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain('X-Signature');
      expect(text).not.toMatch(/https?:\/\/[^"]*\?/);
    }
    expect(seen.find((s) => s.channel === 'part')?.fields.url).toMatch(/^http:\/\/[^?]+\/[^?]+$/);
  });

  it('a failed upload publishes `error` with the typed error on its request and on the upload', async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: P });
    const seen = record();
    const error = await uploadToVault(bytes(P, 2), { apiKey: 'sk_wrong_key_SECRET', connectionId: 'c', baseUrl: emu.url, filename: 'a.mp4', contentType: 'video/mp4', ...fastRetry }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OFAuthApiError);
    const init = seen.find((s) => s.channel === 'init' && s.event === 'asyncEnd');
    expect(init?.fields).toMatchObject({ statusCode: 401, attempt: 1 });
    const failed = seen.filter((s) => s.channel === 'upload' && s.event === 'error');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.message.error).toBe(error);
    expect(seen.map(label).slice(-3)).toEqual(['upload:error', 'upload:asyncStart', 'upload:asyncEnd']);
    for (const s of seen) expect(serialized(s.message)).not.toContain('sk_wrong_key_SECRET');
  });

  it('a network failure of an attempt publishes that attempt’s `error`, then a retry with its error code', async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: P, mode: 'multipart', faults: [{ route: 'part', partNumber: 1, nth: 1, action: { type: 'reset', afterBytes: 100 } }] });
    const seen = record();
    await uploadToVault(bytes(2 * P, 3), { apiKey: API_KEY, connectionId: 'c', baseUrl: emu.url, filename: 'a.mp4', contentType: 'video/mp4', concurrency: 1, ...fastRetry });
    const failedAttempt = seen.find((s) => s.channel === 'part' && s.event === 'error');
    expect(failedAttempt?.fields).toMatchObject({ partNumber: 1, attempt: 1 });
    expect(failedAttempt?.message.error).toBeInstanceOf(Error);
    const retry = seen.find((s) => s.channel === 'retry');
    expect(retry?.fields).toMatchObject({ request: 'part', partNumber: 1, attempt: 1 });
    expect(typeof retry?.fields.errorCode).toBe('string');
  });

  it('uploadFile: the upload traced from the file, resume and its journal on the resume channel', async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: P, mode: 'multipart' });
    const dir = mkdtempSync(join(tmpdir(), 'trace-'));
    try {
      const path = join(dir, 'clip.mov');
      writeFileSync(path, bytes(3 * P, 4));
      const controller = new AbortController();
      await uploadFile(path, { apiKey: API_KEY, connectionId: 'c', baseUrl: emu.url, concurrency: 1, resume: { dir }, signal: controller.signal, onProgress: (p) => void (p.partsCompleted === 1 && controller.abort()), ...fastRetry }).catch(() => undefined);
      const seen = record();
      const result = await uploadFile(path, { apiKey: API_KEY, connectionId: 'c', baseUrl: emu.url, resume: { dir }, ...fastRetry });
      expect(seen[0]?.fields).toMatchObject({ filename: 'clip.mov', size: 3 * P, contentType: 'video/quicktime' });
      expect(seen.find((s) => s.channel === 'resume')?.fields).toMatchObject({ mediaUploadId: result.mediaUploadId, partsDone: 1, totalParts: 3, restarted: false });
      expect(seen.filter((s) => s.channel === 'init')).toEqual([]);
      expect(seen.map(label).at(-1)).toBe('upload:asyncEnd');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a spooled upload: its size is filled in when the source ends, and the spool tells when it went to disk and ended', async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: P });
    const seen = record();
    const data = bytes(5 * P, 5);
    const chunks = Array.from({ length: 5 }, (_, i) => data.subarray(i * P, (i + 1) * P));
    await uploadToVault(chunks, { apiKey: API_KEY, connectionId: 'c', baseUrl: emu.url, filename: 'a.mp4', contentType: 'video/mp4', spool: { memory: P }, ...fastRetry });
    expect(seen[0]?.fields.size).toBeUndefined();
    expect(seen.filter((s) => s.channel === 'spool').map((s) => s.fields)).toEqual([
      expect.objectContaining({ event: 'disk' }),
      expect.objectContaining({ event: 'ended', bytes: data.length }),
    ]);
    expect((seen[0]?.message as { size?: number }).size).toBe(data.length);
  });

  it('nothing is published, and no context is built, without subscribers', async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: P });
    const upload = diagnosticsChannel.tracingChannel('ofauth-upload-stream:upload');
    expect(upload.hasSubscribers).toBe(false);
    const result = await uploadToVault(bytes(2 * P, 6), { apiKey: API_KEY, connectionId: 'c', baseUrl: emu.url, filename: 'a.mp4', contentType: 'video/mp4', ...fastRetry });
    expect(result.size).toBe(2 * P);
  });
});
