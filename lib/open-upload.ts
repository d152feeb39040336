import type { UploadTraceContext } from './diagnostics/channels';
import type { Dispatcher } from 'undici';
import { type ApiIdentity, UploadApi } from './api';
import { type HttpContext, defaultDispatcher } from './http';
import { MultipartUpload } from './parts/multipart-upload';
import type { UploadProgress } from './options';
import { PlanlessUpload } from './planless/planless-upload';
import { type MultipartPlan, type UploadSession, isPlanless, partLength } from './plan';
import { ProgressTracker } from './progress';
import { PulledPlanlessUpload } from './planless/pulled-planless-upload';
import type { RateLimitTracker } from './rate/rate-limit-tracker';
import type { RatePacer } from './rate/rate-pacer';
import { sharedPacer } from './rate/shared-pacers';
import type { PartSource } from './sources/part-source';
import type { PartReceipt, UploadSink } from './upload-sink';

/** Who the upload talks to and how it retries: what the stream's and uploadFile's options share. */
export interface TransportSettings extends ApiIdentity {
  dispatcher?: Dispatcher | undefined;
  retries: number;
  retryBaseDelay: number;
  retryMaxDelay: number;
  retryAfterMax: number;
  headersTimeout: number;
  bodyTimeout: number;
  pacer?: RatePacer | undefined;
  rateLimitMaxWait: number;
  concurrency: number;
}

/**
 * The API spoken for one upload, every request and backoff wait bound to `signal`, its rate-limit
 * waits told to `tracker` (one per upload, whatever number of sessions it takes).
 */
export function createUploadApi(settings: TransportSettings, signal: AbortSignal, tracker: RateLimitTracker, trace?: UploadTraceContext): UploadApi {
  const http: HttpContext = {
    dispatcher: settings.dispatcher ?? defaultDispatcher(),
    signal,
    policy: {
      retries: settings.retries,
      baseDelay: settings.retryBaseDelay,
      maxDelay: settings.retryMaxDelay,
      retryAfterMax: settings.retryAfterMax,
    },
    rate: {
      pacer: settings.pacer ?? sharedPacer(settings.baseUrl, settings.connectionId),
      tracker,
      maxWaitMs: settings.rateLimitMaxWait,
      // On a far link one more request than `concurrency` may be open (see PartUploader).
      concurrency: settings.concurrency + 1,
    },
    secrets: [settings.apiKey],
    headersTimeout: settings.headersTimeout,
    bodyTimeout: settings.bodyTimeout,
  };
  return new UploadApi(settings, http, trace);
}

/** What a sink is built from, besides the session it serves. */
export interface SinkContext {
  api: UploadApi;
  /** The upload's signal: aborted when it fails or is cancelled. */
  signal: AbortSignal;
  concurrency: number;
  maxBufferMemory: number;
  /** Only for a pushed plan-less upload: how much of it may be kept to replay a failed attempt. */
  planlessRetryBuffer: number;
  onProgress: (progress: UploadProgress) => void;
  onPart: (receipt: PartReceipt) => void;
  /** A request or read failed for good: the upload must stop. */
  onError: (error: unknown) => void;
}

/**
 * The sink that fits the session: parts of a plan, or one plan-less PUT; pushed (a live stream,
 * no `source`) or pulled (read at offsets from `source`). `done`: parts of a resumed plan the
 * vault already acknowledged, which are not sent again.
 */
export function sinkFor(
  session: UploadSession,
  size: number,
  source: PartSource | undefined,
  context: SinkContext,
  done: readonly PartReceipt[] = [],
): UploadSink {
  const { api, signal, concurrency, maxBufferMemory, planlessRetryBuffer, onProgress, onPart, onError } = context;
  const totalParts = isPlanless(session) ? 1 : session.parts.length;
  const progress = new ProgressTracker(size, totalParts, onProgress);
  const deps = { api, signal, progress, onPart, onError };
  if (isPlanless(session)) {
    return source === undefined
      ? new PlanlessUpload(session.mediaUploadId, { ...deps, size, replayLimit: Math.min(planlessRetryBuffer, maxBufferMemory) })
      : new PulledPlanlessUpload(session.mediaUploadId, deps, source);
  }
  const multipart = { ...deps, concurrency, maxBufferMemory };
  if (source === undefined) return MultipartUpload.pushed(session, multipart);
  if (done.length > 0) progress.resumeFrom(done.map((receipt) => ({ partNumber: receipt.partNumber, length: lengthOf(session, receipt.partNumber) })));
  return MultipartUpload.pulled(session, multipart, source, done);
}

function lengthOf(plan: MultipartPlan, partNumber: number): number {
  const part = plan.parts[partNumber - 1];
  return part === undefined ? 0 : partLength(part);
}

/**
 * Opens a session for `size` bytes (init), tells `onSession`, and returns the sink that fits
 * its answer.
 */
export async function openSink(
  size: number,
  source: PartSource | undefined,
  context: SinkContext,
  onSession: (session: UploadSession) => void,
): Promise<UploadSink> {
  const session = await context.api.init(size);
  onSession(session);
  return sinkFor(session, size, source, context);
}
