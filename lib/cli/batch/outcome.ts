import type { SourceItem } from '../sources/source-item';
import type { UploadSummary } from '../summary';
import type { ManifestEntry } from './manifest';

/** How one source ended. An 'uploaded' whose sha256 differs from the emulator's (`summary.ok` false) counts as failed. */
export type SourceOutcome =
  | { type: 'uploaded'; item: SourceItem; summary: UploadSummary }
  | { type: 'skipped'; item: SourceItem; entry: ManifestEntry }
  | { type: 'failed'; item: SourceItem; error: unknown; mediaUploadId?: string }
  /** Stopped by Ctrl-C: never finalized; `mediaUploadId` once init had answered. */
  /** `resumable`: a file whose journal lets the same command continue it. */
  /** `stage`: set when nothing had been uploaded yet (see CancelStage). */
  | { type: 'cancelled'; item: SourceItem; mediaUploadId?: string; resumable?: boolean; stage?: CancelStage };

/**
 * Where a cancelled upload stood when nothing of it had been uploaded: its source was still being
 * opened (a download not yet answering, a named pipe without a writer), or, its size unknown, it
 * was still being buffered to its end. Undefined: requests may have been in flight.
 */
export type CancelStage = 'opening' | 'buffering';

export interface BatchTotals {
  sources: number;
  uploaded: number;
  skipped: number;
  failed: number;
  cancelled: number;
  /** Left unstarted by Ctrl-C. */
  notStarted: number;
  /** Bytes uploaded by this run (skipped sources not counted). */
  bytes: number;
  elapsedMs: number;
  interrupted: boolean;
  /** What the connection's rate limit cost, summed over the uploads (their waits overlap). */
  rateLimit: { waitedMs: number; refusals: number };
}

export function succeeded(outcome: SourceOutcome): boolean {
  return outcome.type === 'skipped' || (outcome.type === 'uploaded' && outcome.summary.ok);
}

/** A source's size when it is known before it is opened (a download's only once it answers). */
export function knownSize(item: SourceItem): number | undefined {
  switch (item.kind) {
    case 'file':
      return item.stats?.size ?? item.declaredSize;
    case 'stdin':
      return item.size;
    case 'sample':
      return item.size;
    case 's3':
      return item.listed?.size;
    default:
      return undefined;
  }
}
