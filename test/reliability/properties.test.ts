import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool } from '../../lib/parts/buffer-pool';
import { type Emulator, startEmulator } from '../../lib/emulator';
import { PlanError, uploadToVault } from '../../lib/index';
import { PartAssembler } from '../../lib/parts/part-assembler';
import type { FilledPart } from '../../lib/parts/part-body';
import { type PlanPart, parseInitAnswer } from '../../lib/plan';
import { bytes, sha256, source } from '../helpers';

// fast-check prints the seed and the shrunk counterexample of any failure; FC_SEED replays it.
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const ORIGIN = 'http://127.0.0.1:1';

function planParts(size: number, partSize: number): PlanPart[] {
  const parts: PlanPart[] = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) {
    parts.push({ partNumber: n, uploadUrl: `${ORIGIN}/p/${n}`, byteRange: { start, end: Math.min(start + partSize, size) - 1 } });
  }
  return parts;
}

function validPlan(size: number, partSize: number) {
  const parts = planParts(size, partSize);
  return {
    mediaUploadId: 'upload:prop',
    uploadType: parts.length === 1 ? 'single' : 'multipart',
    totalParts: parts.length,
    partSize,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    parts,
    completeUrl: `${ORIGIN}/v2/access/uploads/complete`,
  };
}

/** Splits `size` bytes by the chunk sizes, cycling through them. */
function chunkSizes(size: number, sizes: number[]): number[] {
  const out: number[] = [];
  for (let left = size, i = 0; left > 0; i++) {
    const n = Math.min(left, sizes[i % sizes.length]!);
    out.push(n);
    left -= n;
  }
  return out;
}

describe('property: re-chunking', () => {
  it('for any size, part size and chunking, the parts are exactly the plan byte ranges', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 1, max: 4_000 }),
        fc.array(fc.integer({ min: 1, max: 9_000 }), { minLength: 1, maxLength: 8 }),
        async (size, partSize, sizes) => {
          const data = bytes(size, size + partSize);
          const parts = planParts(size, partSize);
          const pool = new BufferPool(Math.min(size, partSize), 2);
          const got: Array<{ partNumber: number; bytes: Buffer }> = [];
          const assembler = new PartAssembler(parts, pool, (filled: FilledPart) => {
            got.push({ partNumber: filled.part.partNumber, bytes: Buffer.concat([...(filled.body.slices(() => {}) as Iterable<Uint8Array>)]) });
            filled.release(); // acknowledged at once
          });
          let offset = 0;
          for (const n of chunkSizes(size, sizes)) {
            await assembler.write(data.subarray(offset, offset + n), new AbortController().signal);
            offset += n;
          }
          expect(got.map((p) => p.partNumber)).toEqual(parts.map((p) => p.partNumber));
          for (const [i, part] of parts.entries()) {
            expect(got[i]!.bytes.equals(data.subarray(part.byteRange.start, part.byteRange.end + 1))).toBe(true);
          }
        },
      ),
      { numRuns: 300, seed },
    );
  });

  describe('end to end against the emulator', () => {
    let emu: Emulator;
    beforeAll(async () => {
      emu = await startEmulator({ partSize: 3000, mode: 'multipart' });
    });
    afterAll(() => emu.close());

    it('every part PUT carries exactly its range, and the stored bytes equal the source', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 15_000 }),
          fc.array(fc.integer({ min: 1, max: 7_000 }), { minLength: 1, maxLength: 5 }),
          fc.integer({ min: 1, max: 4 }),
          async (size, sizes, concurrency) => {
            emu.reset();
            const data = bytes(size, size);
            const chunks = chunkSizes(size, sizes);
            const result = await uploadToVault(source(data, (i) => chunks[i] ?? 1), {
              apiKey: emu.apiKey, connectionId: 'prop', baseUrl: emu.url, filename: 'p.bin',
              contentType: 'application/octet-stream', size, concurrency,
            });
            const expected = planParts(size, 3000);
            const puts = emu.requests.filter((r) => r.route === 'part').sort((a, b) => a.partNumber! - b.partNumber!);
            expect(puts.map((r) => [r.partNumber, r.bytesReceived])).toEqual(
              expected.map((p) => [p.partNumber, p.byteRange.end - p.byteRange.start + 1]),
            );
            expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
          },
        ),
        { numRuns: 40, seed },
      );
    });
  });
});

// Each mutation turns a sound plan into one that must be refused.
type Plan = ReturnType<typeof validPlan>;
const mutations: Array<[string, (plan: Plan, r: number) => unknown]> = [
  ['shuffled', (p) => ({ ...p, parts: [...p.parts.slice(1), p.parts[0]] })],
  ['overlapping', (p) => ({ ...p, parts: p.parts.map((x, i) => (i === 1 ? { ...x, byteRange: { ...x.byteRange, start: x.byteRange.start - 1 } } : x)) })],
  ['gap', (p) => ({ ...p, parts: p.parts.map((x, i) => (i === 1 ? { ...x, byteRange: { ...x.byteRange, start: x.byteRange.start + 1 } } : x)) })],
  ['totalParts too high', (p) => ({ ...p, totalParts: p.totalParts + 1 })],
  ['totalParts too low', (p) => ({ ...p, totalParts: p.totalParts - 1 })],
  ['missing last part', (p) => ({ ...p, parts: p.parts.slice(0, -1), totalParts: p.totalParts - 1 })],
  ['extra part', (p) => ({ ...p, totalParts: p.totalParts + 1, parts: [...p.parts, { ...p.parts.at(-1)!, partNumber: p.parts.length + 1 }] })],
  ['negative start', (p) => ({ ...p, parts: p.parts.map((x, i) => (i === 0 ? { ...x, byteRange: { start: -1, end: x.byteRange.end } } : x)) })],
  ['huge end', (p) => ({ ...p, parts: p.parts.map((x, i) => (i === p.parts.length - 1 ? { ...x, byteRange: { ...x.byteRange, end: 2 ** 53 } } : x)) })],
  ['huge partSize', (p) => ({ ...p, partSize: 2 ** 60 })],
  ['zero partSize', (p) => ({ ...p, partSize: 0 })],
  ['fractional partSize', (p) => ({ ...p, partSize: p.partSize + 0.5 })],
  ['string numbers', (p) => ({ ...p, totalParts: String(p.totalParts) })],
  ['string byteRange', (p) => ({ ...p, parts: p.parts.map((x) => ({ ...x, byteRange: `${x.byteRange.start}-${x.byteRange.end}` })) })],
  ['null parts', (p) => ({ ...p, parts: null })],
  ['no parts', (p) => ({ ...p, parts: [], totalParts: 0 })],
  ['bad uploadUrl', (p) => ({ ...p, parts: p.parts.map((x) => ({ ...x, uploadUrl: 'javascript:alert(1)' })) })],
  ['duplicate part number', (p) => ({ ...p, parts: p.parts.map((x, i) => (i === 1 ? { ...x, partNumber: 1 } : x)) })],
  ['part number 0', (p) => ({ ...p, parts: p.parts.map((x, i) => (i === 0 ? { ...x, partNumber: 0 } : x)) })],
  ['unknown uploadType', (p) => ({ ...p, uploadType: 'resumable' })],
  ['expiresAt not a date', (p) => ({ ...p, expiresAt: 'tomorrow-ish' })],
  ['missing mediaUploadId', ({ mediaUploadId: _m, ...p }) => p],
  ['short middle part', (p) => ({
    ...p,
    parts: p.parts.map((x, i) =>
      i === 0 ? { ...x, byteRange: { start: 0, end: x.byteRange.end - 1 } } : i === 1 ? { ...x, byteRange: { start: x.byteRange.start - 1, end: x.byteRange.end } } : x),
  })],
];

describe('property: malformed plans', () => {
  it('any malformed plan is refused with PlanError', () => {
    fc.assert(
      fc.property(
        // At least 3 parts, so every mutation has a middle part to act on.
        fc.integer({ min: 1, max: 5_000 }).chain((partSize) =>
          fc.tuple(fc.constant(partSize), fc.integer({ min: 2 * partSize + 1, max: 10 * partSize })),
        ),
        fc.constantFrom(...mutations),
        ([partSize, size], [name, mutate]) => {
          const plan = validPlan(size, partSize);
          expect(() => parseInitAnswer(plan, size, ORIGIN), 'the unmutated plan is sound').not.toThrow();
          let caught: unknown;
          try {
            parseInitAnswer(mutate(plan, 0), size, ORIGIN);
          } catch (error) {
            caught = error;
          }
          expect(caught, `mutation "${name}"`).toBeInstanceOf(PlanError);
        },
      ),
      { numRuns: 500, seed },
    );
  });
});
