import { constants as bufferConstants } from 'node:buffer';
import { z } from 'zod';
import { PlanError } from './errors';
import { zodIssues } from './zod-issues';

// What init may answer. Numbers must be safe integers: a plan with 2^60-byte ranges is as
// wrong as one with gaps, and must be caught here rather than by a failed allocation later.
const safeInt = z.number().int().refine(Number.isSafeInteger, { message: 'expected a safe integer' });

const planPartSchema = z.object({
  partNumber: safeInt.positive(),
  uploadUrl: z.url({ protocol: /^https?$/ }),
  byteRange: z.object({ start: safeInt.nonnegative(), end: safeInt.nonnegative() }),
});

const multipartPlanSchema = z.object({
  mediaUploadId: z.string().min(1),
  uploadType: z.enum(['single', 'multipart']),
  totalParts: safeInt.positive(),
  partSize: safeInt.positive(),
  expiresAt: z.string().min(1),
  parts: z.array(planPartSchema).min(1),
  completeUrl: z.url({ protocol: /^https?$/ }).optional(),
});

const planlessSchema = z.object({ mediaUploadId: z.string().min(1) });

export type PlanPart = z.infer<typeof planPartSchema>;
export type MultipartPlan = z.infer<typeof multipartPlanSchema>;

/** The newer API's init answer: an id, and no plan. */
export interface PlanlessSession {
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
