import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import { EmptySourceError, type RemoteIdentity, SourceChangedError, SourceReadError } from '../errors';
import { type RetryPolicy, backoffDelay, sleep } from '../retry';
import { filenameFromContentDisposition, filenameFromUrl } from './content-disposition';
import type { RangeSource } from './range-source';

/**
 * A URL as errors, output and journals name it: no user info, no query string, no fragment (a
 * presigned URL's query is a credential).
 */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export interface HttpReadSettings {
  /** Downloads go through it (with redirects followed, if it follows them). */
  dispatcher: Dispatcher;
  /** The caller's headers for the download host; never the API key. */
  headers: Record<string, string>;
  /** For the first request: retries of a cut, a timeout, a 408, 429 or 5xx. */
  retries: number;
  /** The longest wait for an answer's headers, in ms (0: none). */
  timeout: number;
  baseDelay: number;
  maxDelay: number;
  /** false: never ask for a range (the download is read once, front to back). */
  ranges: boolean;
}

/** How a URL will be read, once its first answer came. */
export type UrlOpening =
  | { kind: 'ranged'; source: HttpRangeSource }
  | {
      kind: 'stream';
      /** The download's body, to be read once. */
      body: Readable;
      /** From Content-Length; undefined when the server sent none (the body must be spooled). */
      size: number | undefined;
      filename: string;
      /** What the server called it (undefined when it only said "bytes"). */
      contentType: string | undefined;
      /** The strong validator, when there is one: identifies the download across runs. */
      version: string | undefined;
      /** Why it is not read by range. */
      why: string;
    };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text === '' ? undefined : text;
}

/** What makes a range request conditional on this version of the resource. */
interface Validator {
  /** For If-Range: the strong ETag, or the Last-Modified date. */
  ifRange: string;
  /** If-Match (an ETag) or If-Unmodified-Since (a date): a changed resource answers 412. */
  precondition: { name: 'if-match' | 'if-unmodified-since'; value: string };
  version: string;
}

/**
 * A strong validator, as If-Range needs one (RFC 9110 13.1.5): a strong ETag, else a
 * Last-Modified at least a second older than the answer's Date (a file modified in the second
 * it was served could change again within that second, unseen).
 */
export function validatorOf(headers: IncomingHttpHeaders): Validator | undefined {
  const etag = header(headers, 'etag');
  if (etag !== undefined && /^"[\x21\x23-\x7e\x80-\xff]*"$/.test(etag)) {
    return { ifRange: etag, precondition: { name: 'if-match', value: etag }, version: `etag:${etag}` };
  }
  const lastModified = header(headers, 'last-modified');
  if (lastModified === undefined || Number.isNaN(Date.parse(lastModified))) return undefined;
  const date = header(headers, 'date');
  if (date !== undefined && !Number.isNaN(Date.parse(date)) && Date.parse(date) - Date.parse(lastModified) < 1000) return undefined;
  return { ifRange: lastModified, precondition: { name: 'if-unmodified-since', value: lastModified }, version: `last-modified:${lastModified}` };
}

/** `bytes 0-0/1234` → its numbers; `*` for an unknown total is undefined. */
export function parseContentRange(value: string | undefined): { start: number; end: number; total: number | undefined } | undefined {
  const match = value === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value);
  if (match === null) return undefined;
  const [start, end, total] = [Number(match[1]), Number(match[2]), match[3] === '*' ? undefined : Number(match[3])];
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start || (total !== undefined && (!Number.isSafeInteger(total) || end >= total))) return undefined;
  return { start, end, total };
}

// Types that only say "bytes": the file's name says more.
const GENERIC_TYPES = new Set(['application/octet-stream', 'binary/octet-stream', 'application/unknown', 'application/x-download', 'application/force-download']);

/**
 * The bare media type the server reported, unless it only said "bytes". Parameters (charset…)
 * describe text, not media: the vault wants the bare type.
 */
export function reportedType(value: string | undefined): string | undefined {
  const bare = value?.split(';')[0]?.trim().toLowerCase();
  return bare !== undefined && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(bare) && !GENERIC_TYPES.has(bare) ? bare : undefined;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Failures of a download's request that no retry fixes within the upload's patience: a host
 * that does not exist, a certificate that is not the host's. (EAI_AGAIN, a DNS server that did
 * not answer, is retried.)
 */
const FATAL_CODES = new Set(['ENOTFOUND', 'UND_ERR_INVALID_ARG', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']);

function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

function why(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

/**
 * Opens a URL for upload. Its first request asks for byte 0 only: a `206` with the total size
 * and a strong validator means every part can be fetched by range (`ranged`); a `200` is the
 * whole download, read once (`stream`), as is a 206 without a validator (then one more GET).
 * `accept-encoding: identity` is asked (a compressed body is not the file), and only the
 * caller's headers are sent.
 */
export async function openUrl(url: URL, settings: HttpReadSettings, signal: AbortSignal): Promise<UrlOpening> {
  const name = displayUrl(url);
  const first = await get(url, settings, signal, settings.ranges ? { range: 'bytes=0-0' } : {});
  const { statusCode, headers, body } = first;
  try {
    const encoding = header(headers, 'content-encoding')?.toLowerCase();
    if (encoding !== undefined && encoding !== 'identity') {
      throw new SourceReadError({ source: name, start: 0, end: 0, attempts: 1, reason: `the server sent a ${encoding}-encoded body although identity was asked: those bytes are not the file` });
    }
    const history = (first.context as { history?: unknown } | undefined)?.history;
    const answered = Array.isArray(history) && history.at(-1) instanceof URL ? (history.at(-1) as URL) : url;
    const filename = filenameFromContentDisposition(header(headers, 'content-disposition')) ?? filenameFromUrl(answered) ?? filenameFromUrl(url) ?? 'download';
    const contentType = reportedType(header(headers, 'content-type'));
    if (statusCode === 416) throw new EmptySourceError(`${name} is empty; nothing was uploaded (the vault does not take empty files)`);
    const validator = validatorOf(headers);
    if (statusCode === 206) {
      const range = parseContentRange(header(headers, 'content-range'));
      if (range === undefined || range.start !== 0 || range.total === undefined) {
        throw new SourceReadError({ source: name, start: 0, end: 0, attempts: 1, status: 206, reason: `the server answered a range it did not describe (Content-Range: ${header(headers, 'content-range') ?? 'none'})` });
      }
      discard(body);
      if (validator !== undefined) {
        const source = new HttpRangeSource(url, settings, { size: range.total, validator, filename, ...(contentType === undefined ? {} : { contentType }) });
        return { kind: 'ranged', source };
      }
      // Ranges without a validator could mix two versions of a file that changes: read it once.
      const whole = await get(url, settings, signal, {});
      if (whole.statusCode !== 200) {
        discard(whole.body);
        throw new SourceReadError({ source: name, start: 0, end: range.total - 1, attempts: 1, status: whole.statusCode, reason: `HTTP ${whole.statusCode}` });
      }
      return { kind: 'stream', body: whole.body, size: lengthOf(whole.headers), filename, contentType, version: undefined, why: 'the server sends no strong validator (ETag or Last-Modified), so ranges could mix versions' };
    }
    if (statusCode !== 200) {
      throw new SourceReadError({ source: name, start: 0, end: 0, attempts: 1, status: statusCode, reason: statusReason(statusCode) });
    }
    const size = lengthOf(headers);
    if (size === 0) throw new EmptySourceError(`${name} is empty; nothing was uploaded (the vault does not take empty files)`);
    return {
      kind: 'stream',
      body,
      size,
      filename,
      contentType,
      version: validator?.version,
      why: settings.ranges ? 'the server does not answer byte ranges' : 'ranges were turned off',
    };
  } catch (error) {
    discard(body);
    throw error;
  }
}

function statusReason(status: number): string {
  return status >= 300 && status < 400 ? `HTTP ${status} (a redirect that was not followed)` : `HTTP ${status}`;
}

function lengthOf(headers: IncomingHttpHeaders): number | undefined {
  const text = header(headers, 'content-length');
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** One GET with the caller's headers (retried while the answer is worth another try). */
async function get(url: URL, settings: HttpReadSettings, signal: AbortSignal, extra: Record<string, string>): Promise<Dispatcher.ResponseData> {
  const policy: RetryPolicy = { retries: settings.retries, baseDelay: settings.baseDelay, maxDelay: settings.maxDelay, retryAfterMax: 0 };
  // Each round spends one of the retries: bounded.
  for (let attempt = 1; ; attempt++) {
    let failure: unknown;
    let status: number | undefined;
    try {
      const answer = await request(url, {
        method: 'GET',
        dispatcher: settings.dispatcher,
        headers: { ...settings.headers, ...extra, 'accept-encoding': 'identity' },
        signal,
        headersTimeout: settings.timeout,
        // A body read front to back (no ranges) must not stall forever; undici does not count
        // the time the upload holds it back (a paused body), only the server's silence.
        bodyTimeout: settings.timeout,
      });
      if (!RETRYABLE.has(answer.statusCode)) return answer;
      status = answer.statusCode;
      discard(answer.body);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      failure = error;
    }
    const code = (failure as { code?: unknown } | undefined)?.code;
    if (attempt > settings.retries || (typeof code === 'string' && FATAL_CODES.has(code))) {
      throw new SourceReadError({ source: displayUrl(url), start: 0, end: 0, attempts: attempt, ...(status === undefined ? {} : { status }), reason: status === undefined ? why(failure) : `HTTP ${status}`, cause: failure });
    }
    await sleep(backoffDelay(attempt, policy), signal);
  }
}

interface HttpResource {
  size: number;
  validator: Validator;
  filename: string;
  contentType?: string;
}

/**
 * A download read by byte range: each read is a GET with `Range`, `If-Range` and `If-Match` (or
 * `If-Unmodified-Since`) on the version first seen, and its answer must be that exact range of
 * that exact version — else the resource changed (`SourceChangedError`) and no part of the new
 * one is mixed in. A cut, a 408/429/5xx or a dropped connection is thrown plain (the reader asks
 * again for the rest); a refusal no retry can fix (401, 403, 404…) is a `SourceReadError`.
 */
export class HttpRangeSource implements RangeSource {
  readonly size: number;
  readonly name: string;
  readonly version: string;
  readonly filename: string;
  readonly contentType?: string;
  readonly #url: URL;
  readonly #settings: HttpReadSettings;
  readonly #validator: Validator;

  constructor(url: URL, settings: HttpReadSettings, resource: HttpResource) {
    this.#url = url;
    this.#settings = settings;
    this.#validator = resource.validator;
    this.size = resource.size;
    this.name = displayUrl(url);
    this.version = resource.validator.version;
    this.filename = resource.filename;
    if (resource.contentType !== undefined) this.contentType = resource.contentType;
  }

  get #identity(): RemoteIdentity {
    return { size: this.size, version: this.version };
  }

  async readRange(start: number, end: number, signal: AbortSignal): Promise<Readable> {
    const validator = this.#validator;
    const { statusCode, headers, body } = await request(this.#url, {
      method: 'GET',
      dispatcher: this.#settings.dispatcher,
      headers: {
        ...this.#settings.headers,
        range: `bytes=${start}-${end}`,
        'if-range': validator.ifRange,
        [validator.precondition.name]: validator.precondition.value,
        'accept-encoding': 'identity',
      },
      signal,
      // The reader's own idle timer covers the wait for headers and body alike.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    try {
      this.#check(statusCode, headers, start, end);
    } catch (error) {
      discard(body);
      throw error;
    }
    return body;
  }

  #check(status: number, headers: IncomingHttpHeaders, start: number, end: number): void {
    const now = validatorOf(headers);
    const actual = (size: number | undefined): RemoteIdentity | undefined =>
      now === undefined ? undefined : { size: size ?? this.size, version: now.version };
    if (status === 206) {
      const range = parseContentRange(header(headers, 'content-range'));
      if (range?.total !== undefined && range.total !== this.size) throw new SourceChangedError(this.name, this.#identity, actual(range.total) ?? { size: range.total, version: this.version });
      if (now !== undefined && now.version !== this.version) throw new SourceChangedError(this.name, this.#identity, actual(range?.total));
      if (range === undefined || range.start !== start || range.end !== end) {
        throw new SourceReadError({ source: this.name, start, end, attempts: 1, status, reason: `the server answered another range (Content-Range: ${header(headers, 'content-range') ?? 'none'})` });
      }
      return;
    }
    if (status === 200) {
      // If-Range did not hold: the whole of another version came back.
      if (now === undefined || now.version !== this.version) throw new SourceChangedError(this.name, this.#identity, actual(lengthOf(headers)), { how: 'the server answered the whole of another version to If-Range' });
      throw new SourceReadError({ source: this.name, start, end, attempts: 1, status, reason: 'the server stopped answering byte ranges' });
    }
    if (status === 412) throw new SourceChangedError(this.name, this.#identity, undefined, { how: `the server answered 412 Precondition Failed to ${this.#validator.precondition.name}` });
    if (status === 416) throw new SourceChangedError(this.name, this.#identity, undefined, { how: `the server answered 416: bytes ${start}-${end} are no longer there` });
    if (RETRYABLE.has(status)) throw Object.assign(new Error(`HTTP ${status}`), { code: `HTTP_${status}`, status });
    throw new SourceReadError({ source: this.name, start, end, attempts: 1, status, reason: statusReason(status) });
  }
}
