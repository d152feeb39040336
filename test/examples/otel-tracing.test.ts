import diagnosticsChannel from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimitMessage, RequestMessage, ResumeMessage, RetryMessage, SpoolMessage, UploadMessage } from '../../examples/otel-tracing';
import { traceUploads } from '../../examples/otel-tracing';
import type * as Channels from '../../lib/diagnostics/channels';
import { type Emulator, startEmulator } from '../../lib/emulator';
import { OFAuthApiError, uploadToVault } from '../../lib/index';
import { KiB, bytes, fastRetry, sha256 } from '../helpers';

// examples/otel-tracing.ts, the OpenTelemetry recipe of docs/observability.md, run: the spans it
// makes of real uploads against the emulator, exported in memory by the OTel SDK.

// The recipe declares the message fields it reads, so it can be copied as it is; tsc checks here
// that the package's message types fit those declarations (a renamed field fails typecheck).
type Fits<Actual extends Declared, Declared> = [Actual, Declared];
export type RecipeFitsTheChannels = [
  Fits<Channels.UploadTraceContext, UploadMessage>,
  Fits<Channels.RequestTraceContext, RequestMessage>,
  Fits<Channels.RetryMessage, RetryMessage>,
  Fits<Channels.RateLimitMessage, RateLimitMessage>,
  Fits<Channels.SpoolMessage, SpoolMessage>,
  Fits<Channels.ResumeMessage, ResumeMessage>,
];

const API_KEY = 'sk_live_otel_SECRET_42';
const P = 64 * KiB;

let emu: Emulator | undefined;
let exporter: InMemorySpanExporter;
let provider: BasicTracerProvider;
let stop: (() => void) | undefined;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  stop = traceUploads(provider.getTracer('otel-recipe-test'));
});
afterEach(async () => {
  stop?.();
  stop = undefined;
  await provider.shutdown();
  await emu?.close();
  emu = undefined;
});

const id = (span: ReadableSpan) => span.spanContext().spanId;
const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const byStart = (a: ReadableSpan, b: ReadableSpan) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];

/** Everything a span carries that an exporter would send: attributes, events, status. */
function exported(span: ReadableSpan): string {
  return JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })), status: span.status });
}

describe('examples/otel-tracing.ts: the diagnostics channels as OpenTelemetry spans', () => {
  it('one upload with a retried part: an ofauth.upload span, its init, part attempts (the 503 and its resend) and complete as CLIENT children', async () => {
    const partUrls: string[] = [];
    emu = await startEmulator({
      apiKey: API_KEY,
      partSize: P,
      mode: 'multipart',
      // Part URLs on another origin, presigned: a signature in their query.
      foreignOrigin: true,
      faults: [{ route: 'part', partNumber: 2, nth: 1, action: { type: 'status', status: 503 } }],
      planTransform: (plan) => {
        partUrls.push(...plan.parts.map((part) => part.uploadUrl));
        return plan;
      },
    });
    const data = bytes(4 * P, 7);
    const result = await uploadToVault(data, {
      apiKey: API_KEY,
      connectionId: 'conn_otel',
      baseUrl: emu.url,
      filename: 'clip.mp4',
      contentType: 'video/mp4',
      concurrency: 1,
      ...fastRetry,
    });
    expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    // The part URLs had a query (a presigned URL's signature), which no span may show.
    expect(partUrls).toHaveLength(4);
    for (const url of partUrls) expect(new URL(url).search).not.toBe('');
    expect(emu.requests.filter((r) => r.route === 'part').map((r) => r.server)).toEqual(Array(5).fill('foreign'));

    const spans = exporter.getFinishedSpans();
    const roots = spans.filter((s) => s.parentSpanContext === undefined);
    expect(roots.map((s) => s.name)).toEqual(['ofauth.upload']);
    const upload = roots[0] as ReadableSpan;
    expect(upload.kind).toBe(SpanKind.INTERNAL);
    expect(upload.status.code).toBe(SpanStatusCode.OK);
    expect(upload.attributes).toEqual({
      'ofauth.upload.filename': 'clip.mp4',
      'ofauth.upload.size': data.length,
      'ofauth.upload.content_type': 'video/mp4',
      'ofauth.connection_id': 'conn_otel',
      'ofauth.media_upload_id': result.mediaUploadId,
      'ofauth.upload.parts': 4,
      ...(result.media === undefined ? {} : { 'ofauth.media_id': String(result.media.id) }),
    });

    // Every other span is a request attempt, a child of the upload span, in one trace.
    const children = spans.filter((s) => s !== upload).sort(byStart);
    expect(children).toHaveLength(spans.length - 1);
    for (const child of children) {
      expect(parentId(child)).toBe(id(upload));
      expect(child.spanContext().traceId).toBe(upload.spanContext().traceId);
      expect(child.kind).toBe(SpanKind.CLIENT);
    }
    const tree = children.map((s) => [s.name, s.attributes['ofauth.request'], s.attributes['ofauth.part.number'], s.attributes['http.request.resend_count'], s.attributes['http.response.status_code']]);
    expect(tree).toEqual([
      ['POST', 'init', undefined, undefined, 200],
      ['PUT', 'part', 1, undefined, 200],
      ['PUT', 'part', 2, undefined, 503],
      ['PUT', 'part', 2, 1, 200],
      ['PUT', 'part', 3, undefined, 200],
      ['PUT', 'part', 4, undefined, 200],
      ['POST', 'complete', undefined, undefined, 200],
    ]);
    // Every span ended within the upload's.
    for (const child of children) {
      expect(byStart(child, upload)).toBeGreaterThanOrEqual(0);
      expect(child.endTime[0] - upload.endTime[0] || child.endTime[1] - upload.endTime[1]).toBeLessThanOrEqual(0);
    }

    const [init, , failed, resent, , , complete] = children as [ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan];
    const api = new URL(emu.url);
    expect(init.attributes).toEqual({
      'http.request.method': 'POST',
      'url.full': `${api.origin}/v2/access/uploads/init`,
      'server.address': api.hostname,
      'server.port': Number(api.port),
      'http.response.status_code': 200,
      'ofauth.request': 'init',
    });
    expect(init.status.code).toBe(SpanStatusCode.UNSET);
    // The part server is another origin: its own address and port, and a URL with no query.
    const partUrl = new URL(String(failed.attributes['url.full']));
    expect(partUrl.port).not.toBe(api.port);
    expect(failed.attributes).toEqual({
      'http.request.method': 'PUT',
      'url.full': `${partUrl.origin}${partUrl.pathname}`,
      'server.address': partUrl.hostname,
      'server.port': Number(partUrl.port),
      'http.response.status_code': 503,
      'error.type': '503',
      'ofauth.request': 'part',
      'ofauth.part.number': 2,
      'ofauth.part.bytes': P,
      'ofauth.media_upload_id': result.mediaUploadId,
    });
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(resent.attributes).toMatchObject({ 'http.request.resend_count': 1, 'http.response.status_code': 200, 'ofauth.part.bytes': P, 'url.full': failed.attributes['url.full'] });
    expect(resent.attributes['error.type']).toBeUndefined();
    expect(resent.status.code).toBe(SpanStatusCode.UNSET);
    expect(complete.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.port': Number(api.port), 'ofauth.media_upload_id': result.mediaUploadId, 'http.response.status_code': 200 });
    expect(String(complete.attributes['url.full'])).toMatch(new RegExp(`^${api.origin}/v2/access/uploads/[^?]*$`));
    // Only the 503 is an error.
    expect(children.filter((s) => s.status.code === SpanStatusCode.ERROR)).toEqual([failed]);

    // The retry, an event of the upload span: which part, which attempt failed, how, the backoff.
    const retries = upload.events.filter((e) => e.name === 'ofauth.retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]?.attributes).toEqual({
      'ofauth.request': 'part',
      'ofauth.part.number': 2,
      'ofauth.attempt': 1,
      'http.response.status_code': 503,
      'error.type': '503',
      'ofauth.retry.delay_ms': expect.any(Number),
    });

    // Neither the key nor a query string anywhere.
    for (const span of spans) {
      const text = exported(span);
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain('?');
    }
  });

  it('a failed upload (a wrong key: 401): the upload span is an ERROR with the exception and error.type, and so is its init', async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: P });
    const wrongKey = 'sk_wrong_otel_SECRET';
    const error = await uploadToVault(bytes(P, 8), { apiKey: wrongKey, connectionId: 'conn_otel', baseUrl: emu.url, filename: 'clip.mp4', contentType: 'video/mp4', ...fastRetry }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OFAuthApiError);

    const spans = exporter.getFinishedSpans();
    const upload = spans.find((s) => s.name === 'ofauth.upload');
    expect(upload?.parentSpanContext).toBeUndefined();
    expect(upload?.status).toEqual({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    expect(upload?.attributes).toMatchObject({ 'error.type': (error as OFAuthApiError).code, 'ofauth.upload.filename': 'clip.mp4', 'ofauth.upload.size': P });
    expect(upload?.attributes['error.type']).toBe('ERR_OFAUTH_API');
    expect(upload?.attributes['ofauth.media_upload_id']).toBeUndefined();
    const exception = upload?.events.find((e) => e.name === 'exception');
    expect(exception?.attributes).toMatchObject({ 'exception.type': 'ERR_OFAUTH_API', 'exception.message': (error as Error).message });

    const init = spans.filter((s) => s !== upload);
    expect(init.map((s) => [s.name, s.attributes['ofauth.request'], s.attributes['http.response.status_code'], s.attributes['error.type'], s.status.code, parentId(s)])).toEqual([
      ['POST', 'init', 401, '401', SpanStatusCode.ERROR, upload && id(upload)],
    ]);
    for (const span of spans) expect(exported(span)).not.toContain(wrongKey);
  });

  it('the returned function unsubscribes: no more spans, and the channels have no subscribers left', async () => {
    emu = await startEmulator({ apiKey: API_KEY, partSize: P });
    stop?.();
    stop = undefined;
    for (const name of ['upload', 'init', 'part', 'complete']) expect(diagnosticsChannel.tracingChannel(`ofauth-upload-stream:${name}`).hasSubscribers).toBe(false);
    for (const name of ['retry', 'rate-limit', 'spool', 'resume']) expect(diagnosticsChannel.hasSubscribers(`ofauth-upload-stream:${name}`)).toBe(false);
    await uploadToVault(bytes(2 * P, 9), { apiKey: API_KEY, connectionId: 'conn_otel', baseUrl: emu.url, filename: 'clip.mp4', contentType: 'video/mp4', ...fastRetry });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
