import type { IncomingHttpHeaders } from 'node:http';
import { debuglog } from 'node:util';
import { Agent, type Dispatcher, request } from 'undici';
import { type RequestTraceContext, type RetryMessage, requestChannel, retryChannel } from './diagnostics/channels';
import { EarlyAnswerError, NetworkError, OFAuthApiError, RateLimitError, TimeoutError } from './errors';
import { type RateContext, takeGrant } from './rate/rate-grant';
import { bodyExcerpt, redactSecrets, safePath } from './redact';
import { type WatchedBody, declaredLength, watchBody } from './watched-body';
import { RETRYABLE_STATUSES, type RetryPolicy, backoffDelay, parseRetryAfter, sleep } from './retry';

// NODE_DEBUG=ofauth-upload-stream prints one line per attempt: method, path (never the query),
// status, timing. Headers are never logged.
const debug = debuglog('ofauth-upload-stream');

let sharedAgent: Agent | undefined;

/**
 * The package's own connection pool, shared by every upload in the process that brings no
 * dispatcher. Not undici's global dispatcher: on Node 20 that slot may hold Node's bundled
 * (older) undici, whose handler API differs.
 */
export function defaultDispatcher(): Dispatcher {
  sharedAgent ??= new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });
  return sharedAgent;
}

export type RequestBody = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface HttpContext {
  dispatcher: Dispatcher;
  /** The upload's own signal: aborting it cancels the request and any backoff wait. */
  signal: AbortSignal;
  policy: RetryPolicy;
  /** The connection's rate limit, as this upload meets it. */
  rate: RateContext;
  /** Strings that must never appear in an error (the API key). */
  secrets: readonly string[];
  headersTimeout: number;
  bodyTimeout: number;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  /** Called for each attempt, so a part's body is rebuilt from its buffer on every retry. */
  body?: () => RequestBody;
  /** Runs (and is awaited) before each attempt; throwing stops the request (e.g. the session expired). */
  beforeAttempt?: () => void | Promise<void>;
  /**
   * When waiting for the rate limit is pointless (epoch ms: the session's expiresAt), and the
   * error to fail with then.
   */
  deadline?: { at: number; error: () => Error };
  /** False once a retry is impossible (a one-shot streamed body was already consumed). */
  canRetry?: () => boolean;
  /**
   * The server finalizes the upload when it answers this request 2xx (the single PUT, a single
   * plan's one part): an early 2xx cannot be undone by sending again, so it fails at once.
   */
  finalizes?: boolean;
  /** The most response body kept, in bytes. */
  maxResponseBytes?: number;
  /** More strings to keep out of errors for this request (a presigned URL's signature). */
  secrets?: readonly string[];
  /**
   * False for a request that must not run twice (init opens a session each time): it is retried
   * only where the server cannot have processed it. Default true.
   */
  idempotent?: boolean;
  /** What the diagnostics channels call this request (each attempt is traced on its channel). */
  trace?: RequestTraceFields;
}

/** The fields of a request's trace messages besides the attempt's own. */
export type RequestTraceFields = Pick<RequestTraceContext, 'upload' | 'request' | 'mediaUploadId' | 'partNumber' | 'bytes'>;

/** The request's attempt as its channel tells it, or undefined (nobody listens). */
function attemptTrace(spec: RequestSpec, attempt: number): RequestTraceContext | undefined {
  if (spec.trace === undefined || !requestChannel(spec.trace.request).hasSubscribers) return undefined;
  let url: string;
  try {
    const parsed = new URL(spec.url);
    url = `${parsed.origin}${parsed.pathname}`;
  } catch {
    url = '[invalid URL]';
  }
  return { ...spec.trace, attempt, method: spec.method, url };
}

/** An attempt ended: with an answer (its status), or an error. */
function endAttemptTrace(spec: RequestSpec, context: RequestTraceContext | undefined, outcome: { status: number } | { error: unknown }): void {
  if (context === undefined || spec.trace === undefined) return;
  const channel = requestChannel(spec.trace.request);
  if ('status' in outcome) {
    context.statusCode = outcome.status;
  } else {
    context.error = outcome.error;
    channel.error.publish(context);
  }
  channel.asyncStart.publish(context);
  channel.asyncEnd.publish(context);
}

/** A request goes again after a failed attempt: told to `ofauth-upload-stream:retry`. */
function publishRetry(spec: RequestSpec, attempt: number, delayMs: number, failure: { statusCode: number } | { errorCode: string | undefined }): void {
  if (spec.trace === undefined || !retryChannel.hasSubscribers) return;
  const { upload, request, mediaUploadId, partNumber } = spec.trace;
  const message: RetryMessage = {
    upload,
    request,
    ...(mediaUploadId === undefined ? {} : { mediaUploadId }),
    ...(partNumber === undefined ? {} : { partNumber }),
    attempt,
    ...('statusCode' in failure ? { statusCode: failure.statusCode } : failure.errorCode === undefined ? {} : { errorCode: failure.errorCode }),
    delayMs,
  };
  retryChannel.publish(message);
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  attempts: number;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
// Our own mistakes, not the network's: sending again cannot help.
const FATAL_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_NOT_SUPPORTED']);
// Failures before a connection existed: the request never reached the server.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
// Answers that say the work was not done: refused by the server (408, 503), failed there (500),
// or no valid answer from upstream at all (a gateway's 502). Retrying a 502 risks at most one
// empty session that expires by itself, while giving up fails an upload a moment's hiccup would
// have let through. A 504, a timeout or a reset may come after the upstream acted and its answer
// was lost: a non-idempotent request is not sent again then, since a second session would be
// opened and the first orphaned. (A 429 never gets here: the pacer waits it out.)
const NOT_PROCESSED_STATUSES: ReadonlySet<number> = new Set([408, 500, 502, 503]);

/**
 * undici marks a kept-alive socket reusable only in a `setImmediate` after its response
 * completed (its HTTP/1.1 client, with pipelining 1); a request dispatched before then finds
 * that connection busy and opens a new one: two round trips and a TLS handshake later. Our
 * next request often follows an answer at once (the next part, complete after the last part,
 * part 1 after init). So each dispatcher counts the responses we read to the end whose socket
 * is not reusable yet, and a request waits until there are none.
 *
 * The count drops in a `setImmediate` queued after reading the body, so after undici's own
 * (queued when the response completed, before its body ended): once it is zero, every
 * connection whose answer we have seen is back in its pool.
 */
const settling = new WeakMap<Dispatcher, number>();

function responseRead(dispatcher: Dispatcher): void {
  settling.set(dispatcher, (settling.get(dispatcher) ?? 0) + 1);
  setImmediate(() => settling.set(dispatcher, (settling.get(dispatcher) ?? 1) - 1));
}

async function connectionsSettled(dispatcher: Dispatcher): Promise<void> {
  // Bounded: answers keep arriving on a busy pool, and a stale count must never stall a request.
  for (let turn = 0; turn < 16 && (settling.get(dispatcher) ?? 0) > 0; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A copy of a transport error with only its name, code and redacted message. */
function sanitizedCause(error: unknown, secrets: readonly string[]): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redactSecrets(source.message, secrets));
  copy.name = source.name;
  const code = errorCode(source);
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}

async function readText(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = max - length;
    if (chunk.length >= room) {
      chunks.push(chunk.subarray(0, room));
      length = max;
      body.destroy();
      break;
    }
    chunks.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(chunks, length).toString('utf8');
}

/** The media id a success answer names, for an error that must say what the server claimed. */
function claimedMediaId(text: string, secrets: readonly string[]): string | number | undefined {
  try {
    const id = (JSON.parse(text) as { media?: { id?: unknown } } | null)?.media?.id;
    if (typeof id === 'string') return redactSecrets(id, secrets);
    return typeof id === 'number' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends one API request with the retry rules: network errors and 408/5xx are retried with
 * backoff; any other non-2xx fails at once. Every sending first takes a grant from the
 * connection's pacer; a 429 teaches the pacer and waits for the next grant, costing no retry,
 * for as long as `rateLimitMaxWait` allows. Resolves with a 2xx answer; everything else is a
 * typed error.
 */
export async function send(spec: RequestSpec, ctx: HttpContext): Promise<HttpAnswer> {
  const { policy, signal, rate } = ctx;
  const path = safePath(spec.url);
  const secrets = spec.secrets === undefined ? ctx.secrets : [...ctx.secrets, ...spec.secrets];
  const maxResponseBytes = spec.maxResponseBytes ?? 1024 * 1024;
  const idempotent = spec.idempotent ?? true;
  /** Failures so far that count against `retries` (429s do not). */
  let attempt = 1;
  /** Times the request was sent, refusals included. */
  let sent = 0;
  let refusals = 0;
  let rateWaitedMs = 0;
  let refusedBefore = false;
  const rateLimited = (waitingMs = 0) => new RateLimitError({ method: spec.method, path, waitedMs: Math.round(rateWaitedMs + waitingMs), refusals, maxWaitMs: rate.maxWaitMs });
  // Bounded: each round is a retry (at most `retries`) or a refusal (at most rateLimitMaxWait of waiting).
  for (;;) {
    await connectionsSettled(ctx.dispatcher);
    if (signal.aborted) throw signal.reason;
    await spec.beforeAttempt?.();
    const mayRetry = () => attempt <= policy.retries && (spec.canRetry?.() ?? true);
    const waitFrom = performance.now();
    const grant = await takeGrant(rate, signal, rate.maxWaitMs - rateWaitedMs, refusedBefore, rateLimited, spec.deadline, spec.trace);
    rateWaitedMs += performance.now() - waitFrom;
    sent++;
    const started = Date.now();
    const traced = attemptTrace(spec, sent);
    if (traced !== undefined && spec.trace !== undefined) {
      const channel = requestChannel(spec.trace.request);
      channel.start.publish(traced);
      channel.end.publish(traced);
    }
    // An error the body itself raised (the source failed or changed) is not the network's: it
    // ends the request at once instead of being retried.
    let bodyFailure: { error: unknown } | undefined;
    let watched: WatchedBody | undefined;
    let status: number;
    let headers: IncomingHttpHeaders;
    let text: string;
    try {
      watched = spec.body === undefined ? undefined : watchBody(spec.body(), declaredLength(spec.headers), (error) => (bodyFailure ??= { error }));
      const response = await request(spec.url, {
        method: spec.method,
        headers: spec.headers,
        // undici sends (async) iterables as bodies, though its typings only list streams.
        body: watched?.body as Dispatcher.RequestOptions['body'],
        signal,
        dispatcher: ctx.dispatcher,
        headersTimeout: ctx.headersTimeout,
        bodyTimeout: ctx.bodyTimeout,
      });
      status = response.statusCode;
      headers = response.headers;
      text = await readText(response.body, status >= 200 && status < 300 ? maxResponseBytes : 64 * 1024);
      responseRead(ctx.dispatcher);
    } catch (error) {
      rate.pacer.observe(grant, undefined);
      endAttemptTrace(spec, traced, { error: signal.aborted ? signal.reason : bodyFailure !== undefined ? bodyFailure.error : sanitizedCause(error, secrets) });
      if (signal.aborted) throw signal.reason;
      if (bodyFailure !== undefined) throw bodyFailure.error;
      const code = errorCode(error);
      const isTimeout = code !== undefined && TIMEOUT_CODES.has(code);
      const reason = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
      debug('%s %s attempt %d failed after %dms: %s', spec.method, path, sent, Date.now() - started, code ?? reason);
      const retriable = idempotent ? !(code !== undefined && FATAL_CODES.has(code)) : code !== undefined && NOT_SENT_CODES.has(code);
      if (retriable && mayRetry()) {
        const delay = backoffDelay(attempt++, policy);
        publishRetry(spec, sent, delay, { errorCode: code });
        await sleep(delay, signal);
        continue;
      }
      const details = { method: spec.method, path, attempts: sent, reason, cause: sanitizedCause(error, secrets) };
      throw isTimeout ? new TimeoutError(details) : new NetworkError(details);
    }
    debug('%s %s attempt %d -> %d in %dms', spec.method, path, sent, status, Date.now() - started);
    endAttemptTrace(spec, traced, { status });
    const { refused } = rate.pacer.observe(grant, { status, headers }, policy.retryAfterMax);
    refusedBefore = refused;
    if (refused) {
      // The bucket was empty: a wait, not a failure. The pacer now knows, and says when to go.
      refusals++;
      rate.tracker.refused();
      if (rateWaitedMs >= rate.maxWaitMs) throw rateLimited();
      continue;
    }
    if (status >= 200 && status < 300) {
      if (watched === undefined || watched.whole) return { status, headers, text, attempts: sent };
      // A success answered before the whole body was handed to the connection (a gateway, a
      // server that answers first and drops the connection): the server cannot hold the bytes
      // it claims to. undici has stopped sending (it resets a connection still being written
      // when its answer completes). A part is sent again; a finalizing request cannot be.
      const bodyLength = declaredLength(spec.headers) ?? watched.taken;
      debug('%s %s attempt %d -> %d after %d of %d body bytes: not counted', spec.method, path, sent, status, watched.taken, bodyLength);
      if (!spec.finalizes && mayRetry()) {
        const delay = backoffDelay(attempt++, policy);
        publishRetry(spec, sent, delay, { statusCode: status });
        await sleep(delay, signal);
        continue;
      }
      throw new EarlyAnswerError({
        status,
        method: spec.method,
        path,
        bodyExcerpt: bodyExcerpt(text, secrets),
        attempts: sent,
        bytesSent: watched.taken,
        bodyLength,
        mediaId: claimedMediaId(text, secrets),
      });
    }

    if ((idempotent ? RETRYABLE_STATUSES : NOT_PROCESSED_STATUSES).has(status) && mayRetry()) {
      const delay = parseRetryAfter(headers['retry-after'], policy.retryAfterMax) ?? backoffDelay(attempt, policy);
      publishRetry(spec, sent, delay, { statusCode: status });
      await sleep(delay, signal);
      attempt++;
      continue;
    }
    throw new OFAuthApiError({
      status,
      method: spec.method,
      path,
      bodyExcerpt: bodyExcerpt(text, secrets),
      attempts: sent,
    });
  }
}
