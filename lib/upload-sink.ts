import type { VaultMedia } from './answers';
import type { UploadApi } from './api';
import type { ProgressTracker } from './progress';
import type { RateLimitTotals } from './rate/rate-limit-tracker';

/** A part the vault acknowledged: the `'part'` event's payload, and an entry of `UploadResult.parts`. */
export interface PartReceipt {
  /** The part's number in the plan, from 1 (a plan-less upload's one PUT is part 1). */
  partNumber: number;
  /** The part's ETag, from the answer's JSON or its `ETag` header; absent when the server sent none. */
  etag?: string;
}

/** What a finished upload leaves: `mediaUploadId` goes in posts and messages, `media.id` is the vault id. */
export interface UploadResult {
  /** The session's id: the single-use reference of the upload in posts and messages. */
  mediaUploadId: string;
  /** The vault's media object, as the request that finalized the upload answered it; `media.id` is the reusable vault id. */
  media?: VaultMedia;
  /** Every acknowledged part, in part-number order (one entry for a plan-less upload); resumed parts included. */
  parts: PartReceipt[];
  /** The bytes uploaded: the declared size, the file's size, or what a spooled source turned out to hold. */
  size: number;
  /** How the connection's rate limit held this upload: time waited and 429 refusals. */
  rateLimit: RateLimitTotals;
}

/** What a sink finishes with: the result, but for what only the whole upload knows. */
export type SinkResult = Omit<UploadResult, 'rateLimit'>;

/** Where the stream's bytes go once init has told us how: parts of a plan, or one plan-less PUT. */
export interface UploadSink {
  /**
   * Takes a chunk; undefined when it was taken synchronously, else a promise for when it was.
   * Only for pushed uploads: a pulled one reads its own source.
   */
  write(chunk: Buffer): Promise<void> | undefined;
  /** All bytes were written: wait for the server to have them, finalize, and describe the result. */
  finish(): Promise<SinkResult>;
  /** Resolves once no request of this upload is in flight any more. */
  settled(): Promise<void>;
}

/** What every sink is given by the stream. */
export interface SinkDeps {
  api: UploadApi;
  /** The upload's signal: aborted when the upload fails or is cancelled. */
  signal: AbortSignal;
  progress: ProgressTracker;
  onPart: (receipt: PartReceipt) => void;
  /** A request failed for good: the upload must stop. */
  onError: (error: unknown) => void;
}
