import { describe, expect, it } from 'vitest';
import { PlanError } from '../lib/errors';
import { isPlanless, parseInitAnswer } from '../lib/plan';

const ORIGIN = 'https://api.ofauth.com';

function plan(size: number, partSize: number, overrides: Record<string, unknown> = {}) {
  const parts = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) {
    parts.push({
      partNumber: n,
      uploadUrl: `${ORIGIN}/v2/access/uploads/upload%3Aabc/parts/${n}`,
      byteRange: { start, end: Math.min(start + partSize, size) - 1 },
    });
  }
  return {
    mediaUploadId: 'upload:abc',
    uploadType: parts.length > 1 ? 'multipart' : 'single',
    totalParts: parts.length,
    partSize,
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    parts,
    completeUrl: `${ORIGIN}/v2/access/uploads/complete`,
    ...overrides,
  };
}

function rejects(json: unknown, size: number): PlanError {
  try {
    parseInitAnswer(json, size, ORIGIN);
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return error as PlanError;
  }
  throw new Error('expected a PlanError');
}

describe('parseInitAnswer', () => {
  it('accepts the guide example (6,825,499 bytes in 5 MiB parts)', () => {
    const session = parseInitAnswer(plan(6_825_499, 5_242_880), 6_825_499, ORIGIN);
    expect(isPlanless(session)).toBe(false);
    if (isPlanless(session)) return;
    expect(session.parts.map((p) => p.byteRange)).toEqual([
      { start: 0, end: 5_242_879 },
      { start: 5_242_880, end: 6_825_498 },
    ]);
  });

  it('treats { mediaUploadId } alone as the plan-less API', () => {
    const session = parseInitAnswer({ mediaUploadId: 'upload:x', extra: 1 }, 10, ORIGIN);
    expect(session).toEqual({ mediaUploadId: 'upload:x' });
    expect(isPlanless(session)).toBe(true);
  });

  it('rejects non-objects and an empty mediaUploadId', () => {
    rejects('nope', 10);
    rejects([], 10);
    rejects(null, 10);
    rejects({ mediaUploadId: '' }, 10);
  });

  it('rejects a partial plan instead of guessing', () => {
    const { parts: _parts, ...noParts } = plan(100, 40);
    expect(rejects(noParts, 100).issues.join()).toMatch(/parts/);
  });

  it('rejects wrong totals, gaps, overlaps, shuffles and short parts with the reason', () => {
    expect(rejects(plan(100, 40, { totalParts: 4 }), 100).issues[0]).toMatch(/totalParts is 4 but 3/);
    const gap = plan(100, 40);
    gap.parts[1]!.byteRange = { start: 41, end: 79 };
    expect(rejects(gap, 100).issues.join()).toMatch(/start is 41, expected 40/);
    const overlap = plan(100, 40);
    overlap.parts[1]!.byteRange = { start: 39, end: 79 };
    expect(rejects(overlap, 100).issues.join()).toMatch(/start is 39/);
    const shuffled = plan(100, 40);
    shuffled.parts.reverse();
    rejects(shuffled, 100);
    const short = plan(100, 40);
    short.parts[0]!.byteRange = { start: 0, end: 29 };
    short.parts[1]!.byteRange = { start: 30, end: 79 };
    expect(rejects(short, 100).issues.join()).toMatch(/30 bytes, expected partSize 40/);
  });

  it('rejects a plan for another size', () => {
    expect(rejects(plan(100, 40), 101).issues.join()).toMatch(/cover 100 bytes, but the upload is 101/);
    rejects(plan(100, 40), 99);
  });

  it('rejects wrong types, negative and unsafe numbers, bad URLs and dates', () => {
    rejects(plan(100, 40, { totalParts: '3' }), 100);
    rejects(plan(100, 40, { partSize: -40 }), 100);
    rejects(plan(100, 40, { partSize: 2 ** 60 }), 100);
    rejects(plan(100, 40, { expiresAt: 'soon' }), 100);
    rejects(plan(100, 40, { uploadType: 'resumable' }), 100);
    const badUrl = plan(100, 40);
    badUrl.parts[0]!.uploadUrl = 'not a url';
    rejects(badUrl, 100);
    const ftp = plan(100, 40);
    ftp.parts[0]!.uploadUrl = 'ftp://api.ofauth.com/x';
    rejects(ftp, 100);
  });

  it('rejects a completeUrl off the API origin, since complete carries the key', () => {
    expect(rejects(plan(100, 40, { completeUrl: 'https://evil.example/complete' }), 100).issues.join()).toMatch(/completeUrl/);
  });

  it('rejects "single" plans with several parts', () => {
    rejects(plan(100, 40, { uploadType: 'single' }), 100);
  });
});
