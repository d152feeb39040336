import diagnosticsChannel from 'node:diagnostics_channel';
import type { UploadResult } from '../upload-sink';

// The package's diagnostics channels (docs/observability.md). Channels are global by name, so the
// ESM and CJS builds loaded together publish on the same ones. Every message is built only when
// somebody subscribes (`hasSubscribers`): without subscribers, tracing costs a property read.
// No message carries the API key, a request's headers, or a URL's query string.

/** The upload a message belongs to: one object per upload, the same on all its events. */
export interface UploadTraceContext {
  filename: string;
  /** Undefined while a source of unknown size is spooled. */
  size: number | undefined;
  contentType: string;
  connectionId: string;
  /** The API's origin (`https://api.ofauth.com`). */
  server: string;
  /** Set once init answers (or a journal is resumed). */
  mediaUploadId?: string;
  /** Set when the upload finished (before `asyncEnd`). */
  result?: UploadResult;
  /** Set when it failed (before `error`). */
  error?: unknown;
}

/** Which request of the upload protocol. */
export type TracedRequest = 'init' | 'part' | 'single' | 'complete';

/** One attempt of one request (`:init`, `:part`, `:complete`). */
export interface RequestTraceContext {
  upload: UploadTraceContext | undefined;
  request: TracedRequest;
  mediaUploadId?: string;
  /** Parts (and the plan-less PUT, part 1). */
  partNumber?: number;
  /** The body's length in bytes (parts). */
  bytes?: number;
  /** 1 for the first sending, 2 for the first resend… (a 429's resend counts too). */
  attempt: number;
  method: string;
  /** Origin and path: never the query (a presigned URL's query is a credential). */
  url: string;
  /** The answer's status, once it came. */
  statusCode?: number;
  /** Set when the attempt failed without an answer (before `error`). */
  error?: unknown;
}

/** A request is sent again after a failed attempt. */
export interface RetryMessage {
  upload: UploadTraceContext | undefined;
  request: TracedRequest;
  mediaUploadId?: string;
  partNumber?: number;
  /** The attempt that failed. */
  attempt: number;
  /** Its status, when it was answered (408, 5xx, a 2xx that came before the body was sent). */
  statusCode?: number;
  /** Its error code, when it was not (`UND_ERR_SOCKET`, `ECONNRESET`…). */
  errorCode?: string;
  /** The backoff before the next attempt, in ms. */
  delayMs: number;
}

/** A request waits for the connection's rate limit before it is sent. */
export interface RateLimitMessage {
  upload: UploadTraceContext | undefined;
  request: TracedRequest;
  mediaUploadId?: string;
  partNumber?: number;
  /** `paced`: the pacer holds it; `refused`: it was answered 429 and waits to be sent again. */
  reason: 'paced' | 'refused';
  waitMs: number;
  /** Requests the bucket had left as last seen, if known. */
  remaining?: number;
}

/** A source of unknown size is spooled: it went to disk, or it ended (its size is known). */
export interface SpoolMessage {
  upload: UploadTraceContext | undefined;
  event: 'disk' | 'ended';
  bytes: number;
}

/** A resume journal was found: the upload resumes, or starts over. */
export interface ResumeMessage {
  upload: UploadTraceContext | undefined;
  mediaUploadId: string;
  partsDone: number;
  totalParts: number;
  restarted: boolean;
  reason?: string;
}

export const CHANNEL_NAMES = {
  upload: 'ofauth-upload-stream:upload',
  init: 'ofauth-upload-stream:init',
  part: 'ofauth-upload-stream:part',
  complete: 'ofauth-upload-stream:complete',
  retry: 'ofauth-upload-stream:retry',
  rateLimit: 'ofauth-upload-stream:rate-limit',
  spool: 'ofauth-upload-stream:spool',
  resume: 'ofauth-upload-stream:resume',
} as const;

export const uploadChannel = diagnosticsChannel.tracingChannel<unknown, UploadTraceContext>(CHANNEL_NAMES.upload);
export const initChannel = diagnosticsChannel.tracingChannel<unknown, RequestTraceContext>(CHANNEL_NAMES.init);
export const partChannel = diagnosticsChannel.tracingChannel<unknown, RequestTraceContext>(CHANNEL_NAMES.part);
export const completeChannel = diagnosticsChannel.tracingChannel<unknown, RequestTraceContext>(CHANNEL_NAMES.complete);
export const retryChannel = diagnosticsChannel.channel(CHANNEL_NAMES.retry);
export const rateLimitChannel = diagnosticsChannel.channel(CHANNEL_NAMES.rateLimit);
export const spoolChannel = diagnosticsChannel.channel(CHANNEL_NAMES.spool);
export const resumeChannel = diagnosticsChannel.channel(CHANNEL_NAMES.resume);

/** The tracing channel of a request. */
export function requestChannel(request: TracedRequest): typeof initChannel {
  return request === 'init' ? initChannel : request === 'complete' ? completeChannel : partChannel;
}

/**
 * An upload's trace, opened by hand: a stream's upload is not one function call. `start` and
 * `end` now, then `settle` publishes `asyncStart`/`asyncEnd` with the result, or `error` first.
 * Without subscribers when it starts, it is `undefined` and costs nothing.
 */
export interface UploadTrace {
  readonly context: UploadTraceContext;
  succeeded(result: UploadResult): void;
  failed(error: unknown): void;
}

export function startUploadTrace(fields: () => Omit<UploadTraceContext, 'mediaUploadId' | 'result' | 'error'>): UploadTrace | undefined {
  if (!uploadChannel.hasSubscribers) return undefined;
  const context: UploadTraceContext = fields();
  uploadChannel.start.publish(context);
  uploadChannel.end.publish(context);
  let settled = false;
  return {
    context,
    succeeded(result) {
      if (settled) return;
      settled = true;
      context.result = result;
      uploadChannel.asyncStart.publish(context);
      uploadChannel.asyncEnd.publish(context);
    },
    failed(error) {
      if (settled) return;
      settled = true;
      context.error = error;
      uploadChannel.error.publish(context);
      uploadChannel.asyncStart.publish(context);
      uploadChannel.asyncEnd.publish(context);
    },
  };
}
