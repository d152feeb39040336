import { type TracingChannelSubscribers, subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { type Attributes, type Context, type Span, SpanKind, SpanStatusCode, type Tracer, context, trace } from '@opentelemetry/api';

// OpenTelemetry spans from ofauth-upload-stream's diagnostics channels (docs/observability.md):
//
//   ofauth.upload                INTERNAL, one per upload: filename, size, content type,
//   │                            connection id, then the mediaUploadId; OK, or ERROR with the
//   │                            exception and error.type. Events: ofauth.retry,
//   │                            ofauth.rate_limit.wait, ofauth.spool, ofauth.resume.
//   ├─ POST                      CLIENT, init
//   ├─ PUT                       CLIENT, one per attempt of each part (a resend has
//   ├─ PUT                       http.request.resend_count)
//   └─ POST                      CLIENT, complete
//
// Request spans are named `{method}`, as OTel's HTTP client conventions name a request whose URL
// has no low-cardinality template at hand (a part's URL is presigned storage, its path unique
// to the part): APM backends group and chart them as the HTTP calls they are. Which request of
// the protocol it was is the `ofauth.request` attribute (init, part, single, complete).
//
// Usage: `const stop = traceUploads(trace.getTracer('my-app'));` before the uploads, `stop()` to
// unsubscribe. The upload span is a child of whatever span is active where the upload starts
// (your request handler's, say); its requests are children of the upload span.
//
// Self-contained: copy it into your project as it is (it needs @opentelemetry/api). It declares
// the message fields it reads below; test/examples/otel-tracing.test.ts checks that the
// package's own message types (lib/diagnostics/channels.ts) fit these declarations.

const NAME = 'ofauth-upload-stream';

/** `ofauth-upload-stream:upload`'s context: one object per upload, the same on all its events. */
export interface UploadMessage {
  filename: string;
  size: number | undefined;
  contentType: string;
  connectionId: string;
  mediaUploadId?: string | undefined;
  result?: { size: number; parts: readonly unknown[]; media?: { id: string | number } | undefined } | undefined;
  error?: unknown;
}

/** One attempt of one request: the context of `:init`, `:part` and `:complete`. */
export interface RequestMessage {
  upload: UploadMessage | undefined;
  request: string;
  mediaUploadId?: string | undefined;
  partNumber?: number | undefined;
  bytes?: number | undefined;
  attempt: number;
  method: string;
  /** Origin and path, never the query. */
  url: string;
  statusCode?: number | undefined;
  error?: unknown;
}

interface UploadEvent {
  upload: UploadMessage | undefined;
}

export interface RetryMessage extends UploadEvent {
  request: string;
  partNumber?: number | undefined;
  attempt: number;
  statusCode?: number | undefined;
  errorCode?: string | undefined;
  delayMs: number;
}

export interface RateLimitMessage extends UploadEvent {
  request: string;
  partNumber?: number | undefined;
  reason: string;
  waitMs: number;
  remaining?: number | undefined;
}

export interface SpoolMessage extends UploadEvent {
  event: string;
  bytes: number;
}

export interface ResumeMessage extends UploadEvent {
  mediaUploadId: string;
  partsDone: number;
  totalParts: number;
  restarted: boolean;
  reason?: string | undefined;
}

/** `error.type`: a coded error's code (ERR_OFAUTH_API, UND_ERR_SOCKET…), else its class's name. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return error instanceof Error ? error.name : '_OTHER';
}

function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** The attributes of an attempt's span: OTel's HTTP client conventions, then the upload's own. */
function requestAttributes(request: RequestMessage): Attributes {
  // The channel's url is origin and path, never the query: a presigned URL's query is a credential.
  // (A URL that did not parse is published as '[invalid URL]': no server attributes then. A
  // subscriber must not throw: Node rethrows its error on the next tick, an uncaught exception.)
  const url = URL.canParse(request.url) ? new URL(request.url) : undefined;
  const attributes: Attributes = {
    'http.request.method': request.method,
    'url.full': request.url,
    ...(url === undefined ? {} : { 'server.address': url.hostname, 'server.port': url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port) }),
    'ofauth.request': request.request,
  };
  if (request.attempt > 1) attributes['http.request.resend_count'] = request.attempt - 1;
  if (request.partNumber !== undefined) attributes['ofauth.part.number'] = request.partNumber;
  if (request.bytes !== undefined) attributes['ofauth.part.bytes'] = request.bytes;
  const mediaUploadId = request.mediaUploadId ?? request.upload?.mediaUploadId;
  if (mediaUploadId !== undefined) attributes['ofauth.media_upload_id'] = mediaUploadId;
  return attributes;
}

/** Subscribes to the package's channels; spans go to `tracer`. Returns the unsubscribe. */
export function traceUploads(tracer: Tracer): () => void {
  const uploads = new WeakMap<UploadMessage, Span>();
  const requests = new WeakMap<RequestMessage, Span>();
  const undo: Array<() => void> = [];

  /** What became known since the upload started: its size (a spooled source), its session. */
  const refresh = (upload: UploadMessage, span: Span) => {
    if (upload.size !== undefined) span.setAttribute('ofauth.upload.size', upload.size);
    if (upload.mediaUploadId !== undefined) span.setAttribute('ofauth.media_upload_id', upload.mediaUploadId);
  };

  const uploadSubscribers: TracingChannelSubscribers<UploadMessage> = {
    start(upload) {
      const attributes: Attributes = {
        'ofauth.upload.filename': upload.filename,
        'ofauth.upload.content_type': upload.contentType,
        'ofauth.connection_id': upload.connectionId,
      };
      const span = tracer.startSpan('ofauth.upload', { kind: SpanKind.INTERNAL, attributes });
      refresh(upload, span);
      uploads.set(upload, span);
    },
    end() {},
    asyncStart() {},
    error(upload) {
      const span = uploads.get(upload);
      if (span !== undefined) recordError(span, upload.error);
    },
    asyncEnd(upload) {
      const span = uploads.get(upload);
      if (span === undefined) return;
      uploads.delete(upload);
      refresh(upload, span);
      if (upload.result !== undefined) {
        span.setAttribute('ofauth.upload.size', upload.result.size);
        span.setAttribute('ofauth.upload.parts', upload.result.parts.length);
        if (upload.result.media !== undefined) span.setAttribute('ofauth.media_id', String(upload.result.media.id));
        span.setStatus({ code: SpanStatusCode.OK });
      }
      span.end();
    },
  };
  const uploadChannel = tracingChannel<unknown, UploadMessage>(`${NAME}:upload`);
  uploadChannel.subscribe(uploadSubscribers);
  undo.push(() => uploadChannel.unsubscribe(uploadSubscribers));

  /** The context a request's span is started in: its upload's span as the parent, when traced. */
  const parentOf = (upload: UploadMessage | undefined): Context => {
    const span = upload === undefined ? undefined : uploads.get(upload);
    return span === undefined ? context.active() : trace.setSpan(context.active(), span);
  };

  const requestSubscribers: TracingChannelSubscribers<RequestMessage> = {
    start(request) {
      const span = tracer.startSpan(request.method, { kind: SpanKind.CLIENT, attributes: requestAttributes(request) }, parentOf(request.upload));
      requests.set(request, span);
    },
    end() {},
    asyncStart() {},
    error(request) {
      const span = requests.get(request);
      if (span !== undefined) recordError(span, request.error);
    },
    asyncEnd(request) {
      const span = requests.get(request);
      if (span === undefined) return;
      requests.delete(request);
      if (request.statusCode !== undefined) {
        span.setAttribute('http.response.status_code', request.statusCode);
        // A client span is an error from 400 on, typed by its status code.
        if (request.statusCode >= 400) {
          span.setAttribute('error.type', String(request.statusCode));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      }
      // The init answer named the session: the upload span learns it now.
      const upload = request.upload === undefined ? undefined : uploads.get(request.upload);
      if (upload !== undefined && request.upload !== undefined) refresh(request.upload, upload);
      span.end();
    },
  };
  for (const name of ['init', 'part', 'complete']) {
    const channel = tracingChannel<unknown, RequestMessage>(`${NAME}:${name}`);
    channel.subscribe(requestSubscribers);
    undo.push(() => channel.unsubscribe(requestSubscribers));
  }

  /** A plain channel's messages as events of their upload's span. */
  const events = <M extends UploadEvent>(name: string, toEvent: (message: M, span: Span) => [string, Attributes]) => {
    const onMessage = (message: unknown) => {
      const m = message as M;
      const span = m.upload === undefined ? undefined : uploads.get(m.upload);
      if (span === undefined) return;
      const [event, attributes] = toEvent(m, span);
      span.addEvent(event, attributes);
    };
    subscribe(`${NAME}:${name}`, onMessage);
    undo.push(() => unsubscribe(`${NAME}:${name}`, onMessage));
  };
  const which = (m: { request: string; partNumber?: number | undefined }): Attributes => ({
    'ofauth.request': m.request,
    ...(m.partNumber === undefined ? {} : { 'ofauth.part.number': m.partNumber }),
  });

  events<RetryMessage>('retry', (m) => [
    'ofauth.retry',
    {
      ...which(m),
      'ofauth.attempt': m.attempt,
      ...(m.statusCode === undefined ? {} : { 'http.response.status_code': m.statusCode, 'error.type': String(m.statusCode) }),
      ...(m.errorCode === undefined ? {} : { 'error.type': m.errorCode }),
      'ofauth.retry.delay_ms': m.delayMs,
    },
  ]);
  events<RateLimitMessage>('rate-limit', (m) => [
    'ofauth.rate_limit.wait',
    {
      ...which(m),
      'ofauth.rate_limit.reason': m.reason,
      'ofauth.rate_limit.wait_ms': m.waitMs,
      ...(m.remaining === undefined ? {} : { 'ofauth.rate_limit.remaining': m.remaining }),
    },
  ]);
  events<SpoolMessage>('spool', (m, span) => {
    if (m.upload !== undefined) refresh(m.upload, span);
    return ['ofauth.spool', { 'ofauth.spool.event': m.event, 'ofauth.spool.bytes': m.bytes }];
  });
  events<ResumeMessage>('resume', (m, span) => {
    // The session the upload goes on with: the journal's, or the new one when it started over.
    span.setAttribute('ofauth.media_upload_id', m.mediaUploadId);
    return [
      'ofauth.resume',
      {
        'ofauth.media_upload_id': m.mediaUploadId,
        'ofauth.resume.parts_done': m.partsDone,
        'ofauth.resume.total_parts': m.totalParts,
        'ofauth.resume.restarted': m.restarted,
        ...(m.reason === undefined ? {} : { 'ofauth.resume.reason': m.reason }),
      },
    ];
  });

  return () => {
    for (const f of undo.splice(0)) f();
  };
}
