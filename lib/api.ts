import type { UploadTraceContext } from './diagnostics/channels';
import { type FinalAnswer, type PartAnswer, parseFinalAnswer, parsePartAnswer } from './answers';
import { OFAuthApiError, PlanError, UploadExpiredError } from './errors';
import { type HttpContext, type RequestBody, send } from './http';
import type { ResolvedOptions } from './options';
import { type PlanPart, type UploadSession, parseInitAnswer } from './plan';
import type { PartBody } from './parts/part-body';
import { safePath } from './redact';

/**
 * A storage service refusing a presigned URL that has expired: S3 (and S3-compatible stores)
 * answer 403 `<Code>AccessDenied</Code><Message>Request has expired</Message>`, or
 * `<Code>ExpiredToken</Code>` when the signing credentials expired; GCS says `ExpiredToken` too.
 */
export function isExpiredSignature(error: OFAuthApiError): boolean {
  if (error.status !== 403 && error.status !== 400) return false;
  return /<Code>\s*(ExpiredToken|TokenExpired)\s*<\/Code>|Request has expired/i.test(error.bodyExcerpt);
}

/** What the API is told about the upload and its caller. */
export type ApiIdentity = Pick<ResolvedOptions, 'apiKey' | 'connectionId' | 'baseUrl' | 'filename' | 'contentType' | 'vaultUpload'>;

/** The OFAuth upload endpoints, spoken with this upload's credentials and retry rules. */
export class UploadApi {
  readonly #options: ApiIdentity;
  readonly #http: HttpContext;
  readonly apiOrigin: string;
  /** The upload these requests are traced under (undefined: nobody listened when it started). */
  readonly #trace: UploadTraceContext | undefined;

  constructor(options: ApiIdentity, http: HttpContext, trace?: UploadTraceContext) {
    this.#options = options;
    this.#http = http;
    this.apiOrigin = new URL(options.baseUrl).origin;
    this.#trace = trace;
  }

  /**
   * How long init took, when it took one attempt: a request with almost no body, so its time is
   * the path's round trips (and a new connection's handshakes), not an upload's socket buffers.
   * Undefined before init, after a retried init, and for a resumed session (no init at all).
   */
  get initMs(): number | undefined {
    return this.#initMs;
  }

  #initMs: number | undefined;

  /** Credentials go only to the API's own origin: never to a presigned or foreign URL. */
  isApiOrigin(url: string): boolean {
    return new URL(url).origin === this.apiOrigin;
  }

  #auth(): Record<string, string> {
    return { apiKey: this.#options.apiKey, 'x-connection-id': this.#options.connectionId };
  }

  #ctx(url: string, method: string, mediaUploadId: string, extraSecrets: readonly string[] = []) {
    return { method, path: safePath(url), mediaUploadId, secrets: [...this.#http.secrets, ...extraSecrets] };
  }

  /**
   * Opens a session for `size` bytes. Init is not idempotent (each call opens a session), so it
   * is retried only where the server cannot have processed it: see `idempotent` in http.ts.
   */
  async init(size: number): Promise<UploadSession> {
    const { filename, contentType, vaultUpload, baseUrl } = this.#options;
    const url = `${baseUrl}/v2/access/uploads/init`;
    const started = performance.now();
    const answer = await send(
      {
        method: 'POST',
        url,
        headers: { ...this.#auth(), 'content-type': 'application/json' },
        body: () => JSON.stringify({ filename, size, contentType, ...(vaultUpload ? { vaultUpload } : {}) }),
        maxResponseBytes: 16 * 1024 * 1024,
        idempotent: false,
        trace: { upload: this.#trace, request: 'init' },
      },
      this.#http,
    );
    if (answer.attempts === 1) this.#initMs = performance.now() - started;
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw new PlanError([`init answered HTTP ${answer.status} with a body that is not JSON`]);
    }
    const session = parseInitAnswer(json, size, this.apiOrigin);
    if (this.#trace !== undefined) this.#trace.mediaUploadId = session.mediaUploadId;
    return session;
  }

  async putPart(
    mediaUploadId: string,
    part: PlanPart,
    body: PartBody,
    expiresAt: string,
    onSent: (bytes: number) => void,
    /** Awaited before each attempt (the uploader's sending slot for a retry). */
    attemptStarting?: () => Promise<void>,
    /** The server finalizes on this part's 2xx (a single plan's one part). */
    finalizes = false,
  ): Promise<PartAnswer> {
    const foreign = !this.isApiOrigin(part.uploadUrl);
    // A presigned URL's query values are credentials: a storage service echoing them must not
    // carry them into an error. (Short values such as "1" would redact half the message.)
    const querySecrets = foreign ? [...new URL(part.uploadUrl).searchParams.values()].filter((v) => v.length >= 8) : [];
    const expiresAtMs = Date.parse(expiresAt);
    const headers: Record<string, string> = foreign
      ? // Presigned URLs sign their headers: anything beyond Content-Length may break them.
        { 'content-length': String(body.length) }
      : { ...this.#auth(), 'content-type': 'application/octet-stream', 'content-length': String(body.length) };
    try {
      const answer = await send(
        {
          method: 'PUT',
          url: part.uploadUrl,
          headers,
          body: () => body.slices(onSent),
          secrets: querySecrets,
          finalizes,
          beforeAttempt: async () => {
            await attemptStarting?.();
            if (Date.now() >= expiresAtMs) throw new UploadExpiredError(expiresAt);
          },
          // No waiting for the rate limit past the session's end: the part could not be sent then.
          deadline: { at: expiresAtMs, error: () => new UploadExpiredError(expiresAt) },
          trace: { upload: this.#trace, request: 'part', mediaUploadId, partNumber: part.partNumber, bytes: body.length },
        },
        this.#http,
      );
      return parsePartAnswer(answer, { ...this.#ctx(part.uploadUrl, 'PUT', mediaUploadId, querySecrets), partNumber: part.partNumber, foreign });
    } catch (error) {
      // A session the server has let go of, or a presigned URL past its expiry: say so rather
      // than a bare 410/403, so a source that can be read again starts a new session.
      if (error instanceof OFAuthApiError && (error.status === 410 || Date.now() >= expiresAtMs || (foreign && isExpiredSignature(error)))) {
        throw new UploadExpiredError(expiresAt, { cause: error });
      }
      throw error;
    }
  }

  /** The single-part endpoint that takes the whole file and finalizes by itself. */
  singlePutUrl(mediaUploadId: string): string {
    return `${this.#options.baseUrl}/v2/access/uploads/${encodeURIComponent(mediaUploadId)}`;
  }

  /**
   * The plan-less single PUT: streams the whole file; it finalizes by itself. `body` is called
   * per attempt; `canRetry` says whether a new attempt could still send the whole file.
   */
  async putWhole(mediaUploadId: string, size: number, body: () => RequestBody, canRetry: () => boolean): Promise<FinalAnswer> {
    const url = this.singlePutUrl(mediaUploadId);
    const answer = await send(
      {
        method: 'PUT',
        url,
        headers: { ...this.#auth(), 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body,
        canRetry,
        finalizes: true,
        trace: { upload: this.#trace, request: 'single', mediaUploadId, partNumber: 1, bytes: size },
      },
      this.#http,
    );
    return parseFinalAnswer(answer, this.#ctx(url, 'PUT', mediaUploadId));
  }

  async complete(mediaUploadId: string, completeUrl: string | undefined): Promise<FinalAnswer> {
    const url = completeUrl ?? `${this.#options.baseUrl}/v2/access/uploads/complete`;
    const answer = await send(
      {
        method: 'POST',
        url,
        headers: { ...this.#auth(), 'content-type': 'application/json' },
        body: () => JSON.stringify({ mediaUploadId }),
        trace: { upload: this.#trace, request: 'complete', mediaUploadId },
      },
      this.#http,
    );
    return parseFinalAnswer(answer, this.#ctx(url, 'POST', mediaUploadId));
  }
}
