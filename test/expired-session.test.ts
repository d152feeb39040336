import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator, FaultRule } from '../lib/emulator';
import { OFAuthApiError, UploadExpiredError, uploadFile, uploadToVault } from '../lib/index';
import { KiB, bytes, emulatorFixture, sha256, source } from './helpers';

// A session that expires mid-upload (410), or presigned part URLs past their expiry (S3's 403
// "Request has expired"), is UploadExpiredError; a source that can be read again (a file, the
// spool) opens one new session and uploads again.

const API_KEY = 'sk_live_expired_secret_19';
const fixture = emulatorFixture({ apiKey: API_KEY, partSize: 64 * KiB, hashing: 'sha256' });
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'expired-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const S3_EXPIRED = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Request has expired</Message><Expires>2026-12-08T00:00:00Z</Expires><ServerTime>2026-12-08T01:00:00Z</ServerTime><RequestId>4442587FB7D0A2F9</RequestId></Error>`;
const S3_EXPIRED_TOKEN = '<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>';

const refused = (status: number, body?: string, nth: number | number[] = 2): FaultRule => ({
  route: 'part',
  nth,
  action: { type: 'status', status, ...(body === undefined ? {} : { body, contentType: 'application/xml' }) },
});

function file(data: Uint8Array): string {
  const path = join(dir, 'clip.mp4');
  writeFileSync(path, data);
  return path;
}

const inits = (e: Emulator) => e.requests.filter((r) => r.route === 'init');

describe('an expired session or presigned URL', () => {
  const cases = [
    ['presigned URLs past their expiry (403 Request has expired)', { foreignOrigin: true }, refused(403, S3_EXPIRED)],
    ['presigned URLs whose credentials expired (403 ExpiredToken)', { foreignOrigin: true }, refused(403, S3_EXPIRED_TOKEN)],
    ['a session the API let go of (410)', {}, refused(410)],
  ] as const;
  for (const [name, emulatorOptions, fault] of cases) {
    it(`uploadFile: ${name} → one new session, the file uploaded again`, async () => {
      const e = await fixture.start({ ...emulatorOptions, faults: [fault] });
      const data = bytes(6 * 64 * KiB + 99, 21);
      const sessions: string[] = [];
      const result = await uploadFile(file(data), { ...fixture.uploadOptions(e, undefined), onSession: (s) => sessions.push(s.mediaUploadId) });
      expect(inits(e)).toHaveLength(2);
      expect(sessions).toHaveLength(2);
      expect(result.mediaUploadId).toBe(sessions[1]);
      expect(e.media(result.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
      expect(e.media(sessions[0]!)?.completed).toBe(false);
    });
  }

  it('the spool: one new session, uploaded again from the spool', async () => {
    const e = await fixture.start({ foreignOrigin: true, faults: [refused(403, S3_EXPIRED)] });
    const data = bytes(5 * 64 * KiB + 7, 22);
    const result = await uploadToVault(source(data, 10_000), fixture.uploadOptions(e, undefined));
    expect(inits(e)).toHaveLength(2);
    expect(e.media(result.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
  });

  it('only once: a second expiry fails typed (UploadExpiredError, caused by the 403), after two sessions', async () => {
    const e = await fixture.start({ foreignOrigin: true, faults: [refused(403, S3_EXPIRED, [2, 4, 6, 8, 10, 12, 14])] });
    const data = bytes(6 * 64 * KiB, 23);
    const error = await uploadFile(file(data), fixture.uploadOptions(e, undefined)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UploadExpiredError);
    expect((error as Error).cause).toBeInstanceOf(OFAuthApiError);
    expect((error as Error).cause).toMatchObject({ status: 403 });
    expect(inits(e)).toHaveLength(2);
    expect(e.requests.filter((r) => r.route === 'complete')).toHaveLength(0);
  });

  it('a live stream of known size cannot be read again: UploadExpiredError, one session', async () => {
    const e = await fixture.start({ foreignOrigin: true, faults: [refused(403, S3_EXPIRED)] });
    const data = bytes(6 * 64 * KiB, 24);
    const error = await uploadToVault(source(data, 10_000), fixture.uploadOptions(e, data.length)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UploadExpiredError);
    expect(inits(e)).toHaveLength(1);
  });

  it('a 403 that is not about expiry stays an OFAuthApiError, with no new session', async () => {
    const e = await fixture.start({ foreignOrigin: true, faults: [refused(403, '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>')] });
    const data = bytes(6 * 64 * KiB, 25);
    const error = await uploadFile(file(data), fixture.uploadOptions(e, undefined)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OFAuthApiError);
    expect(error).not.toBeInstanceOf(UploadExpiredError);
    expect(error).toMatchObject({ status: 403 });
    expect(inits(e)).toHaveLength(1);
  });
});
