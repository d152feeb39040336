import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator, FaultRule } from '../lib/emulator';
import { EarlyAnswerError, InvalidResponseError, OFAuthUploadStream, uploadFile, uploadToVault } from '../lib/index';
import { MiB, bytes, emulatorFixture, sha256, source } from './helpers';

// A server (or a gateway) that answers 2xx at once and drops the connection has not stored what
// it claims: an answer counts only if the whole body had been handed to the connection when it
// came. Parts are 32 MiB, far more than loopback's socket buffers take before the peer reads
// (about 4 MiB, at most ~10 with autotuning), so the client cannot have handed a part over by
// the time the answer comes: the outcome does not depend on timing.

const API_KEY = 'sk_live_early_answer_secret_31';
const PART = 32 * MiB;
const fixture = emulatorFixture({ apiKey: API_KEY, partSize: PART, hashing: 'sha256' });
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'early-answer-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const early = (route: FaultRule['route'], extra: Partial<FaultRule> = {}): FaultRule => ({ route, action: { type: 'answerEarly' }, ...extra });
const requestsOf = (e: Emulator, route: string) => e.requests.filter((r) => r.route === route);

function file(data: Uint8Array): string {
  const path = join(dir, 'clip.mp4');
  writeFileSync(path, data);
  return path;
}

describe('a part answered 200 before its body was sent', () => {
  it('a streamed part is sent again, and the vault gets every byte', async () => {
    const e = await fixture.start({ faults: [early('part', { partNumber: 2, nth: 1 })] });
    const data = bytes(2 * PART + 5 * MiB, 7);
    const upload = new OFAuthUploadStream(fixture.uploadOptions(e, data.length, { concurrency: 2 }));
    await pipeline(source(data, 256 * 1024), upload);
    const part2 = requestsOf(e, 'part').filter((r) => r.partNumber === 2);
    expect(part2.map((r) => r.fault)).toEqual(['answerEarly:200@0', undefined]);
    expect(part2[0]!.bytesReceived).toBeLessThan(PART);
    expect(e.media(upload.result!.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
  });

  it('uploadFile reads the part again and sends it again', async () => {
    const e = await fixture.start({ faults: [early('part', { partNumber: 1, nth: 1 })] });
    const data = bytes(PART + 3 * MiB, 8);
    const result = await uploadFile(file(data), { ...fixture.uploadOptions(e, undefined), concurrency: 2 });
    expect(requestsOf(e, 'part').filter((r) => r.partNumber === 1)).toHaveLength(2);
    expect(e.media(result.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
  });

  it('after the last retry it fails typed, and nothing is finalized', async () => {
    const e = await fixture.start({ faults: [early('part', { partNumber: 1 })] });
    const data = bytes(PART + MiB, 9);
    const error = await uploadFile(file(data), { ...fixture.uploadOptions(e, undefined), retries: 2 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EarlyAnswerError);
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ code: 'ERR_OFAUTH_EARLY_ANSWER', status: 200, attempts: 3, bodyLength: PART });
    expect((error as EarlyAnswerError).bytesSent).toBeLessThan(PART);
    expect(requestsOf(e, 'part').filter((r) => r.partNumber === 1)).toHaveLength(3);
    expect(requestsOf(e, 'complete')).toHaveLength(0);
  });
});

describe('a finalizing PUT answered 200 before its body was sent', () => {
  // It cannot be undone by sending again: it fails at once, naming the media the server claimed.
  const finalizing = [
    ['the plan-less single PUT from a file', 'planless', 'single', (e: Emulator, data: Buffer) => uploadFile(file(data), fixture.uploadOptions(e, undefined))],
    ['the plan-less single PUT from the spool', 'planless', 'single', (e: Emulator, data: Buffer) => uploadToVault(source(data, 64 * 1024), fixture.uploadOptions(e, undefined))],
    ['the plan-less single PUT from a stream of known size', 'planless', 'single', (e: Emulator, data: Buffer) => uploadToVault(source(data, 64 * 1024), fixture.uploadOptions(e, data.length))],
    ['a single plan\'s one part', 'single', 'single', (e: Emulator, data: Buffer) => uploadFile(file(data), fixture.uploadOptions(e, undefined))],
  ] as const;
  for (const [name, mode, route, upload] of finalizing) {
    it(`${name} fails with EarlyAnswerError after one request`, async () => {
      const e = await fixture.start({ mode, partSize: 64 * MiB, faults: [early(route)] });
      const data = bytes(PART, 10);
      const error = await upload(e, data).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(EarlyAnswerError);
      const typed = error as EarlyAnswerError;
      expect(typed.bodyLength).toBe(PART);
      expect(typed.bytesSent).toBeLessThan(PART);
      expect(typed.attempts).toBe(1);
      expect(requestsOf(e, route)).toHaveLength(1);
      if (route === 'single') {
        expect(typed.mediaId).toMatch(/^media:early:/);
        expect(typed.message).toContain(String(typed.mediaId));
      }
      expect(typed.message).not.toContain(API_KEY);
    });
  }
});
