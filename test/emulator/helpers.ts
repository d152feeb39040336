import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import type { Emulator, InitPlan } from '../../lib/emulator';
import { pseudoRandomBytes } from '../../lib/emulator/prng';

export const MiB = 1024 * 1024;
export const CONNECTION = 'conn-test';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export function auth(emulator: Emulator): Record<string, string> {
  return { apiKey: emulator.apiKey, 'x-connection-id': CONNECTION };
}

/** Deterministic bytes: cheap to generate, different per seed. */
export function data(size: number, seed = 1): Buffer {
  return pseudoRandomBytes(size, seed);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function md5Etag(bytes: Uint8Array): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

async function reply(response: Awaited<ReturnType<typeof request>>): Promise<Reply> {
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

export async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Reply> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return reply(await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text }));
}

export async function put(url: string, body: Buffer | Readable, headers: Record<string, string>): Promise<Reply> {
  return reply(await request(url, { method: 'PUT', headers, body }));
}

export async function init(emulator: Emulator, size: number, extra: Record<string, unknown> = {}): Promise<Reply> {
  return post(`${emulator.url}/v2/access/uploads/init`, { filename: 'clip.mp4', size, contentType: 'video/mp4', ...extra }, auth(emulator));
}

export async function initPlan(emulator: Emulator, size: number, extra: Record<string, unknown> = {}): Promise<InitPlan> {
  const answer = await init(emulator, size, extra);
  if (answer.status !== 200) throw new Error(`init answered ${answer.status}: ${answer.text}`);
  return answer.json as InitPlan;
}

export function slice(bytes: Buffer, range: { start: number; end: number }): Buffer {
  return bytes.subarray(range.start, range.end + 1);
}

export async function putPart(emulator: Emulator, plan: InitPlan, bytes: Buffer, partNumber: number): Promise<Reply> {
  const part = plan.parts[partNumber - 1];
  if (!part) throw new Error(`no part ${partNumber}`);
  return put(part.uploadUrl, slice(bytes, part.byteRange), auth(emulator));
}

export async function complete(emulator: Emulator, mediaUploadId: string): Promise<Reply> {
  return post(`${emulator.url}/v2/access/uploads/complete`, { mediaUploadId }, auth(emulator));
}

/** A body of unknown length, so undici sends it chunked. */
export function chunked(bytes: Buffer): Readable {
  return Readable.from([bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)]);
}

export async function settle(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
