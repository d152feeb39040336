import { constants as bufferConstants } from 'node:buffer';
import { z } from 'zod';
import { PlanError } from './errors';
import { zodIssues } from './zod-issues';

// What init may answer. Numbers must be safe integers: a plan with 2^60-byte ranges is as
// wrong as one with gaps, and must be caught here rather than by a failed allocation later.
const safeInt = z.number().int().refine(Number.isSafeInteger, { message: 'expected a safe integer' });

/** @internal Validates a `PlanPart`. */
export const planPartSchema = z.object({
  partNumber: safeInt.positive(),
  uploadUrl: z.url({ protocol: /^https?$/ }),
  byteRange: z.object({ start: safeInt.nonnegative(), end: safeInt.nonnegative() }),
});

/** @internal Validates a `MultipartPlan` (its consistency is `planConsistencyIssues`' business). */
export const multipartPlanSchema = z.object({
  mediaUploadId: z.string().min(1),
  uploadType: z.enum(['single', 'multipart']),
  totalParts: safeInt.positive(),
  partSize: safeInt.positive(),
  expiresAt: z.string().min(1),
  parts: z.array(planPartSchema).min(1),
  completeUrl: z.url({ protocol: /^https?$/ }).optional(),
});

const planlessSchema = z.object({ mediaUploadId: z.string().min(1) });

// The plan types below are what the schemas above output (test/options-types.test.ts proves it
// both ways); every number in them is a safe integer.

/** The bytes of the source one part carries: offsets from 0, both inclusive. */
export interface PlanByteRange {
  /** Offset of the part's first byte. */
  start: number;
  /** Offset of the part's last byte (inclusive: the part is `end - start + 1` bytes). */
  end: number;
}

/** One part of a plan: which bytes go where. */
export interface PlanPart {
  /** 1 for the first part, counting up without gaps. */
  partNumber: number;
  /**
   * Where the part's bytes are PUT: on the API's origin, or a presigned storage URL (its query
   * string is a secret: kept out of every error and log).
   */
  uploadUrl: string;
  /** The part's bytes in the source. Parts follow each other without gaps or overlaps. */
  byteRange: PlanByteRange;
}

/**
 * The init answer of the API that plans the upload: the source cut into parts, each PUT to its
 * own URL, then finalized by `complete`. Checked before use: parts cover exactly the upload's
 * size, in order, every one but the last `partSize` bytes.
 */
export interface MultipartPlan {
  /** The session's id: the single-use reference of the upload (in posts and messages). */
  mediaUploadId: string;
  /** `'single'`: one part, whose PUT may finalize the upload itself; `'multipart'`: several parts, then complete. */
  uploadType: 'single' | 'multipart';
  /** How many parts the plan lists (≥ 1). */
  totalParts: number;
  /** The length of every part but the last, in bytes (≥ 1); the last is at most this. */
  partSize: number;
  /** When the session, and its part URLs, expire: a date string `Date.parse` reads. */
  expiresAt: string;
  /** The parts, in order (at least one). */
  parts: PlanPart[];
  /** Where to finalize; absent: the API's default complete endpoint. Always on the API's own origin. */
  completeUrl?: string | undefined;
}

/**
 * The newer API's init answer: an id, and no plan. The whole source goes in one PUT, which
 * finalizes the upload by itself.
 */
export interface PlanlessSession {
  /** The session's id: the single-use reference of the upload (in posts and messages). */
  mediaUploadId: string;
  /** Never present: what tells this answer from a plan. */
  parts?: undefined;
}

/**
 * The validated init answer, as the `session` event hands it out: exactly the server's fields
 * (unknown ones dropped), so it compares equal to what the API sent. `isPlanless` tells the two
 * apart.
 */
export type UploadSession = MultipartPlan | PlanlessSession;

export function isPlanless(session: UploadSession): session is PlanlessSession {
  return !('parts' in session);
}

const PLAN_KEYS = ['uploadType', 'totalParts', 'partSize', 'expiresAt', 'parts', 'completeUrl'];

/**
 * Parses init's JSON answer. `{ mediaUploadId }` alone is the newer, plan-less API; any other
 * shape must be a complete, self-consistent plan for exactly `size` bytes.
 */
export function parseInitAnswer(json: unknown, size: number, apiOrigin: string): UploadSession {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new PlanError(['answer: expected a JSON object']);
  }
  const hasPlanFields = PLAN_KEYS.some((k) => k in json);
  if (!hasPlanFields) {
    const planless = planlessSchema.safeParse(json);
    if (!planless.success) throw new PlanError(zodIssues(planless.error, 'answer'));
    return { mediaUploadId: planless.data.mediaUploadId };
  }
  const parsed = multipartPlanSchema.safeParse(json);
  if (!parsed.success) throw new PlanError(zodIssues(parsed.error, 'answer'));
  const issues = planConsistencyIssues(parsed.data, size, apiOrigin);
  if (issues.length > 0) throw new PlanError(issues);
  return parsed.data;
}

/** Everything that makes a well-typed plan unusable for `size` bytes; empty when it is sound. */
export function planConsistencyIssues(plan: MultipartPlan, size: number, apiOrigin: string): string[] {
  const issues: string[] = [];
  const { parts, partSize, totalParts } = plan;
  if (totalParts !== parts.length) {
    issues.push(`totalParts is ${totalParts} but ${parts.length} parts are listed`);
  }
  if (plan.uploadType === 'single' && parts.length !== 1) {
    issues.push(`uploadType "single" with ${parts.length} parts`);
  }
  if (partSize > bufferConstants.MAX_LENGTH) {
    issues.push(`partSize ${partSize} exceeds the largest buffer this runtime can hold`);
  }
  if (Number.isNaN(Date.parse(plan.expiresAt))) {
    // The server's value is not quoted: whatever a server echoes could carry the API key.
    issues.push('expiresAt is not a date');
  }
  if (plan.completeUrl !== undefined && new URL(plan.completeUrl).origin !== apiOrigin) {
    // complete carries the API key: it may only go to the API's own origin.
    issues.push(`completeUrl is not on the API origin ${apiOrigin}`);
  }
  let expectedStart = 0;
  for (const [i, part] of parts.entries()) {
    const { start, end } = part.byteRange;
    const label = `parts[${i}]`;
    if (part.partNumber !== i + 1) issues.push(`${label}.partNumber is ${part.partNumber}, expected ${i + 1}`);
    if (start !== expectedStart) issues.push(`${label}.byteRange.start is ${start}, expected ${expectedStart}`);
    if (end < start) issues.push(`${label}.byteRange ends (${end}) before it starts (${start})`);
    const length = end - start + 1;
    const isLast = i === parts.length - 1;
    if (!isLast && length !== partSize) issues.push(`${label} is ${length} bytes, expected partSize ${partSize}`);
    if (isLast && length > partSize) issues.push(`${label} (last) is ${length} bytes, more than partSize ${partSize}`);
    expectedStart = end + 1;
    if (issues.length > 20) break;
  }
  if (issues.length === 0 && expectedStart !== size) {
    issues.push(`byteRanges cover ${expectedStart} bytes, but the upload is ${size} bytes`);
  }
  return issues;
}

/** Bytes a part holds (byteRange.end is inclusive). */
export function partLength(part: PlanPart): number {
  return part.byteRange.end - part.byteRange.start + 1;
}
