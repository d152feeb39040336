import { type MultipartPlan, isPlanless } from '../plan';
import type { PartReceipt } from '../upload-sink';
import type { JournalEntry } from './journal';

/** A session with less time left than this is not resumed: its parts could not be sent in time. */
export const RESUME_MARGIN_MS = 60_000;

export type ResumePoint =
  | { kind: 'continue'; plan: MultipartPlan; done: PartReceipt[] }
  | { kind: 'restart'; reason: 'expired' | 'planless'; previous: string };

/**
 * What to make of a journal's entry: carry on with its plan, skipping the acknowledged parts, or
 * start over (a plan-less session has no parts to skip; an expired one, or one about to expire,
 * is not worth a request).
 */
export function resumePoint(entry: JournalEntry, now: number): ResumePoint {
  const { session } = entry;
  if (isPlanless(session)) return { kind: 'restart', reason: 'planless', previous: session.mediaUploadId };
  if (Date.parse(session.expiresAt) - now < RESUME_MARGIN_MS) return { kind: 'restart', reason: 'expired', previous: session.mediaUploadId };
  return { kind: 'continue', plan: session, done: entry.parts };
}
