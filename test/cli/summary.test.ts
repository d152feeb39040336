import { describe, expect, it } from 'vitest';
import { describeError } from '../../lib/cli/describe-error';
import { formatSummary, summarize } from '../../lib/cli/summary';
import { UsageError } from '../../lib/cli/usage-error';
import { AbortError, OFAuthApiError, SizeMismatchError } from '../../lib/index';

const base = {
  target: 'emulator' as const,
  baseUrl: 'http://127.0.0.1:1',
  filename: 'a.mp4',
  contentType: 'video/mp4',
  bytes: 2 * 1024 * 1024,
  elapsedMs: 1000,
  result: { mediaUploadId: 'upload:1', media: { id: 42, type: 'video' }, parts: [], size: 0, rateLimit: { waitedMs: 0, refusals: 0 } },
  sha256: 'a'.repeat(64),
};

describe('summary', () => {
  it('a match is ok', () => {
    const s = summarize({ ...base, storedSha256: 'a'.repeat(64) });
    expect(s).toMatchObject({ ok: true, sha256Match: true, mibPerSecond: 2, mediaId: 42, mediaType: 'video' });
    expect(formatSummary(s)).toMatch(/sha256 match\s+yes/);
  });

  it('a mismatch is a failure, said plainly', () => {
    const s = summarize({ ...base, storedSha256: 'b'.repeat(64) });
    expect(s).toMatchObject({ ok: false, sha256Match: false });
    expect(formatSummary(s)).toContain('FAILED the sha256 check');
    expect(formatSummary(s)).toContain('NO: the emulator stored different bytes');
  });

  it('says what the rate limit cost, only when it cost something', () => {
    expect(formatSummary(summarize(base))).not.toContain('rate limited');
    const limited = summarize({ ...base, result: { ...base.result, rateLimit: { waitedMs: 3_400, refusals: 1 } } });
    expect(limited.rateLimit).toEqual({ waitedMs: 3_400, refusals: 1 });
    expect(formatSummary(limited)).toMatch(/rate limited\s+waited 3\.40 s \(1 refusal\)/);
  });

  it('without a stored hash there is nothing to compare', () => {
    const s = summarize({ ...base, target: 'api' });
    expect(s.ok).toBe(true);
    expect(s).not.toHaveProperty('sha256Match');
    expect(formatSummary(s)).not.toContain('sha256 stored');
  });
});

describe('describeError', () => {
  it('typed errors describe themselves', () => {
    const api = new OFAuthApiError({ status: 401, method: 'POST', path: '/v2/access/uploads/init', bodyExcerpt: '{}', attempts: 1 });
    expect(describeError(api)).toMatchObject({ name: 'OFAuthApiError', code: 'ERR_OFAUTH_API', status: 401, attempts: 1 });
    expect(describeError(new SizeMismatchError(10, 9))).toMatchObject({ code: 'ERR_OFAUTH_SIZE_MISMATCH', expected: 10, received: 9 });
  });

  it('others are reduced to name, code and message', () => {
    expect(describeError(new AbortError())).toEqual({ name: 'AbortError', code: 'ABORT_ERR', message: 'The upload was aborted' });
    expect(describeError(new UsageError('x'))).toEqual({ name: 'UsageError', code: 'ERR_USAGE', message: 'x' });
    const fsError = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', path: '/secret/place' });
    expect(describeError(fsError)).toEqual({ name: 'Error', code: 'EACCES', message: 'EACCES: permission denied' });
    expect(describeError('boom')).toEqual({ name: 'Error', code: 'ERR_UNEXPECTED', message: 'boom' });
  });
});

describe('summary of a resumed upload (issue 26): the rate is of the bytes this run sent', () => {
  it('bytesSent and the mean rate leave out what was already in the vault; the block says both', () => {
    const s = summarize({ ...base, bytes: 8 * 1024 * 1024, elapsedMs: 500, alreadyInVault: 7 * 1024 * 1024 });
    expect(s).toMatchObject({ bytes: 8 * 1024 * 1024, bytesSent: 1024 * 1024, mibPerSecond: 2 });
    const text = formatSummary(s);
    expect(text).toMatch(/^ {2}mean rate {6}2\.0 MiB\/s$/m);
    expect(text).toMatch(/^ {2}sent {11}1\.0 MiB by this run; 7\.0 MiB were already in the vault$/m);
  });

  it('not resumed (or resumed from nothing): no bytesSent, no sent line, the rate of every byte', () => {
    for (const alreadyInVault of [undefined, 0]) {
      const s = summarize({ ...base, alreadyInVault });
      expect(s).not.toHaveProperty('bytesSent');
      expect(s.mibPerSecond).toBe(2);
      expect(formatSummary(s)).not.toMatch(/^ {2}sent/m);
    }
  });
});
