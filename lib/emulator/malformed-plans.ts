import type { InitPlan } from './types';

/** Ready-made broken plans, each a way a real server could get the plan wrong. */
export const MALFORMED_PLAN_KINDS = [
  'gap', // a byte between two parts belongs to none
  'overlap', // two parts share a byte
  'shuffled', // parts out of order
  'wrong-total', // totalParts disagrees with the list
  'short-part', // a non-last part shorter than partSize
  'extra-part', // one part more than the file needs
  'missing-part', // the last part is missing
  'missing-field', // expiresAt absent
  'bad-types', // numbers sent as strings
  'negative-range', // a byteRange starting below 0
  'huge-range', // a byteRange ending past 2^53
] as const;

export type MalformedPlanKind = (typeof MALFORMED_PLAN_KINDS)[number];

type Part = InitPlan['parts'][number];

const withRange = (part: Part, start: number, end: number): Part => ({ ...part, byteRange: { start, end } });

/**
 * Breaks a sound plan the way `kind` says. Kinds that need two parts fall back to an equivalent
 * break of a one-part plan, so every kind yields a plan a client must refuse.
 */
export function malformPlan(plan: InitPlan, kind: MalformedPlanKind): unknown {
  const parts = plan.parts;
  const first = parts[0]!;
  const second = parts[1];
  const last = parts[parts.length - 1]!;
  switch (kind) {
    case 'gap':
      return second
        ? { ...plan, parts: [first, withRange(second, second.byteRange.start + 1, second.byteRange.end), ...parts.slice(2)] }
        : { ...plan, parts: [withRange(first, 0, first.byteRange.end - 1)] };
    case 'overlap':
      return second
        ? { ...plan, parts: [first, withRange(second, second.byteRange.start - 1, second.byteRange.end), ...parts.slice(2)] }
        : { ...plan, parts: [withRange(first, 0, first.byteRange.end + 1)] };
    case 'shuffled':
      return second ? { ...plan, parts: [second, first, ...parts.slice(2)] } : { ...plan, parts: [{ ...first, partNumber: 2 }] };
    case 'wrong-total':
      return { ...plan, totalParts: plan.totalParts + 1 };
    case 'short-part':
      return second
        ? { ...plan, parts: [withRange(first, 0, first.byteRange.end - 1), withRange(second, second.byteRange.start - 1, second.byteRange.end), ...parts.slice(2)] }
        : { ...plan, partSize: plan.partSize - 1 };
    case 'extra-part':
      return {
        ...plan,
        totalParts: plan.totalParts + 1,
        parts: [...parts, withRange({ ...last, partNumber: last.partNumber + 1 }, last.byteRange.end + 1, last.byteRange.end + 1)],
      };
    case 'missing-part':
      return second ? { ...plan, totalParts: plan.totalParts - 1, parts: parts.slice(0, -1) } : { ...plan, totalParts: 0, parts: [] };
    case 'missing-field': {
      const { expiresAt: _dropped, ...rest } = plan;
      return rest;
    }
    case 'bad-types':
      return { ...plan, totalParts: String(plan.totalParts), partSize: String(plan.partSize) };
    case 'negative-range':
      return { ...plan, parts: [withRange(first, -1, first.byteRange.end), ...parts.slice(1)] };
    case 'huge-range':
      return { ...plan, parts: [...parts.slice(0, -1), withRange(last, last.byteRange.start, 2 ** 53)] };
  }
}
