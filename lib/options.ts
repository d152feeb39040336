import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { InvalidOptionsError } from './errors';
import type { UploadSession } from './plan';
import type { RateLimitEvent } from './rate/rate-limit-tracker';
import type { RatePacer } from './rate/rate-pacer';

/** The OFAuth API's base URL, used when `baseUrl` is not given. */
export const DEFAULT_BASE_URL = 'https://api.ofauth.com';

/**
 * What `uploadFile`'s `onResume` is told when a resume journal for the file was found:
 * `restarted: false` when the acknowledged parts are skipped, `true` when the upload had to start
 * over with a new session (then `reason` says why, and `mediaUploadId` is the new session's).
 */
export interface ResumeInfo {
  /** The session the upload goes on with: the journal's when resumed, the new one when restarted. */
  mediaUploadId: string;
  /** Parts the vault already has, not sent again (0 when restarted). */
  partsDone: number;
  /** Their bytes: where progress starts from (0 when restarted). */
  bytesDone: number;
  /** Parts in the session's plan (1 for a plan-less session). */
  totalParts: number;
  /** `false`: the acknowledged parts are skipped; `true`: the upload starts over in a new session. */
  restarted: boolean;
  /**
   * Only when restarted: `'expired'`, the session had expired or had under a minute left;
   * `'gone'`, the server no longer knew it (404/410); `'planless'`, it was plan-less (nothing to skip);
   * `'changed'`, the source is no longer the one the journal was written for (a file's size or
   * mtime, a download's or S3 object's size or validator differ): its parts cannot be reused.
   */
  reason?: 'expired' | 'gone' | 'planless' | 'changed' | undefined;
  /** Only when restarted: the session the journal held. */
  previousMediaUploadId?: string | undefined;
}

/**
 * What `'progress'` events (and `onProgress`) carry: reported at least every MiB a request body
 * sends, and once each time a part is acknowledged.
 */
export interface UploadProgress {
  /**
   * Bytes handed to the connection so far, each counted once: it only grows, also across
   * retries (a retried part reports nothing until it passes what it had reported). After a
   * resume it starts at the bytes already in the vault.
   */
  bytesUploaded: number;
  /** The upload's size in bytes: `size`, the file's size, or what a spooled source held. */
  totalBytes: number;
  /** Parts the vault has acknowledged (a resumed upload's skipped parts included). */
  partsCompleted: number;
  /** Parts in the plan; 1 for a plan-less upload (one PUT). */
  totalParts: number;
}

/**
 * The `vaultUpload` object sent with init, passed on to the API as given (and part of what
 * identifies an upload for `resume`).
 */
export interface VaultUploadOptions {
  /** The API's upload mode: `'message'`, the only value its schema defines. */
  mode?: 'message' | undefined;
  /** The API's `vaultUpload.userId`: a non-empty user id, or `null`. */
  userId?: string | null | undefined;
}

/**
 * Where a source of unknown size (no `size` given) is kept until it ends: in memory up to
 * `memory` bytes, beyond that all of it in one temp file in `dir`.
 *
 * @example
 * ```ts
 * // A form upload of at most 2 GiB: 32 MiB in memory, then to a disk with room.
 * spool: { memory: 32 * 1024 * 1024, dir: '/var/tmp', maxBytes: 2 * 1024 ** 3 }
 * ```
 */
export interface UploadSpoolOptions {
  /**
   * Bytes kept in memory before the spool moves to disk, an integer from 0 to 2 147 483 647
   * (0: straight to disk). A source no larger than this never touches the disk.
   *
   * @defaultValue `8 * 1024 * 1024` (8 MiB)
   */
  memory?: number | undefined;
  /**
   * The folder of the spool file (non-empty). The file is created exclusively with mode 0600
   * and, where the system allows it (POSIX), unlinked right after opening, so nothing is left
   * behind even after a crash. It needs room for the whole source.
   *
   * @defaultValue `os.tmpdir()`
   */
  dir?: string | undefined;
  /**
   * The most bytes the source may have, a safe integer ≥ 1. A larger source fails the upload
   * with `SpoolError` (`reason: 'limit'`) before anything is uploaded.
   *
   * @defaultValue no limit
   */
  maxBytes?: number | undefined;
}

/** `uploadFile`'s `resume` in its object form: resume, with the journal kept in `dir`. */
export interface ResumeOptions {
  /**
   * The folder of the resume journals and their locks (non-empty; created with mode 0700 if
   * missing).
   *
   * @defaultValue `$XDG_CACHE_HOME/ofauth-upload-stream`, else `~/.cache/ofauth-upload-stream`
   */
  dir?: string | undefined;
}

/**
 * The options `OFAuthUploadStream` (and `uploadToVault`) and `uploadFile` share: where to, as
 * whom, and how the requests are sent, retried and paced. Every option is validated once, before
 * any request: a wrong one throws `InvalidOptionsError`.
 */
export interface CommonUploadOptions {
  /** The OFAuth API key (non-empty). Sent as the `apiKey` header, only to the API's own origin; never in an error message. */
  apiKey: string;
  /** The OFAuth connection the media goes to (non-empty). Sent as the `x-connection-id` header. */
  connectionId: string;
  /**
   * The API's base URL: an `http:` or `https:` URL; trailing slashes are ignored. Point it at the
   * emulator (`ofauth-upload-stream/emulator`) in tests.
   *
   * @defaultValue `'https://api.ofauth.com'` ({@link DEFAULT_BASE_URL})
   */
  baseUrl?: string | undefined;
  /**
   * Sent with init as the API's `vaultUpload` object. Omitted: none is sent.
   *
   * @example
   * ```ts
   * vaultUpload: { mode: 'message', userId: '123456' }
   * ```
   */
  vaultUpload?: VaultUploadOptions | undefined;
  /**
   * Parts sent at once, an integer from 1 to 64. A part holds its slot until its answer, so on a
   * near link this is also the most requests (and connections) the upload has open; on a far
   * link a part whose body is sent waits for its answer outside its slot, so up to
   * `concurrency + 1` requests are open. Part buffers take about `(concurrency + 1) × partSize`
   * bytes, never more than `maxBufferMemory`.
   *
   * @defaultValue `4`
   */
  concurrency?: number | undefined;
  /**
   * Attempts after the first, per request (init, each part, complete), an integer from 0 to
   * 100. Network errors, timeouts and HTTP 408, 500, 502, 503 and 504 are retried (init, which
   * opens a session each time, only when the server cannot have taken it); a 429 is waited out
   * and costs no retry.
   *
   * @defaultValue `5`
   */
  retries?: number | undefined;
  /**
   * The first backoff wait's ceiling, in milliseconds (an integer from 0 to 2 147 483 647): the
   * n-th retry waits a random time up to `min(retryMaxDelay, retryBaseDelay × 2^(n−1))` (full
   * jitter), unless the answer's `Retry-After` says how long.
   *
   * @defaultValue `200` (ms)
   */
  retryBaseDelay?: number | undefined;
  /**
   * The most one backoff wait can last, in milliseconds (an integer from 0 to 2 147 483 647).
   *
   * @defaultValue `10_000` (ms)
   */
  retryMaxDelay?: number | undefined;
  /**
   * The longest `Retry-After` honoured, in milliseconds (an integer from 0 to 2 147 483 647): a
   * server asking for more gets this. Holds for retried answers and for 429s alike.
   *
   * @defaultValue `60_000` (ms)
   */
  retryAfterMax?: number | undefined;
  /**
   * How long to wait for a response's headers, in milliseconds (an integer from 0 to
   * 2 147 483 647; 0 disables it), as undici means it. Past it, the attempt fails with a timeout
   * and is retried; the last one fails the upload with `TimeoutError`.
   *
   * @defaultValue `60_000` (ms)
   */
  headersTimeout?: number | undefined;
  /**
   * The longest silence allowed while a response body is read, in milliseconds (an integer from
   * 0 to 2 147 483 647; 0 disables it), as undici means it. Retried as `headersTimeout` is.
   *
   * @defaultValue `60_000` (ms)
   */
  bodyTimeout?: number | undefined;
  /**
   * The most bytes of part buffers this upload holds, whatever plan the server hands out (a safe
   * integer ≥ 1). With large parts fewer are in flight (`floor(maxBufferMemory / partSize)`
   * buffers). When not even one part fits, a live stream fails with `MemoryLimitError` before
   * any byte is sent, while a file or a spooled source streams that part from the source and
   * reads it again for a retry. Also caps `planlessRetryBuffer`.
   *
   * @defaultValue `256 * 1024 * 1024` (256 MiB)
   */
  maxBufferMemory?: number | undefined;
  /**
   * Cancels the upload: once it aborts, every request and wait stops and the upload fails with
   * `AbortError` (its `cause` is the signal's reason). Already aborted: the upload fails at once.
   */
  signal?: AbortSignal | undefined;
  /**
   * The undici `Dispatcher` every request goes through: an `Agent` with your settings, a
   * `ProxyAgent`, a `MockAgent` in tests.
   *
   * @defaultValue the package's own keep-alive `Agent`, shared by every upload in the process
   *
   * @example
   * ```ts
   * import { ProxyAgent } from 'undici';
   * dispatcher: new ProxyAgent('http://proxy.internal:3128')
   * ```
   */
  dispatcher?: Dispatcher | undefined;
  /** Called with each progress report (the stream's `'progress'` event). A listener that throws fails the upload. */
  onProgress?: ((progress: UploadProgress) => void) | undefined;
  /**
   * The rate-limit pacer every request of this upload takes its turn from. Pass one to share
   * pacing with uploads that would not find it (the same API reached through another origin),
   * or a new one to pace this upload alone.
   *
   * @defaultValue the process's one pacer for this `baseUrl` origin and `connectionId`, shared by
   * every upload to that connection
   *
   * @example
   * ```ts
   * import { RatePacer } from 'ofauth-upload-stream';
   * const pacer = new RatePacer({ assumedPerMinute: 300 }); // a plan with a higher limit
   * await Promise.all(files.map((path) => uploadFile(path, { ...auth, pacer })));
   * ```
   */
  pacer?: RatePacer | undefined;
  /**
   * The longest one request may wait for the connection's rate limit, in milliseconds (an
   * integer from 0 to 2 147 483 647), paced waits and 429 refusals together; past it, the upload
   * fails with `RateLimitError`.
   *
   * @defaultValue `600_000` (ms, 10 minutes)
   */
  rateLimitMaxWait?: number | undefined;
  /** Called each time a request must wait for the connection's rate limit (the stream's `'rateLimit'` event). A listener that throws fails the upload. */
  onRateLimit?: ((event: RateLimitEvent) => void) | undefined;
}

/**
 * The options of `new OFAuthUploadStream(options)` and `uploadToVault(source, options)`.
 *
 * @example
 * ```ts
 * const upload = new OFAuthUploadStream({
 *   apiKey: process.env.OFAUTH_API_KEY!,
 *   connectionId: process.env.OFAUTH_CONNECTION_ID!,
 *   filename: 'clip.mp4',
 *   contentType: 'video/mp4',
 *   size: (await stat('clip.mp4')).size,
 * });
 * ```
 */
export interface OFAuthUploadOptions extends CommonUploadOptions {
  /** The file name sent at init (non-empty). */
  filename: string;
  /**
   * The exact byte count of the source, a whole number from 1 to `Number.MAX_SAFE_INTEGER`: the
   * bytes stream straight to the vault and nothing touches the disk. A source that sends more or
   * fewer bytes fails with `SizeMismatchError` and is never finalized.
   *
   * Omitted: the size is unknown, so the source is spooled (see `spool`) until it ends, then
   * uploaded from the spool.
   *
   * @defaultValue none: the source is spooled
   *
   * @example
   * ```ts
   * size: (await stat(path)).size // a file
   * size: head.ContentLength        // an S3 object (HeadObject)
   * ```
   */
  size?: number | undefined;
  /** The media type sent at init (non-empty), e.g. `'video/mp4'`. */
  contentType: string;
  /**
   * The stream's `highWaterMark`, in bytes (an integer ≥ 1): how much a writer may hand over
   * before `write()` returns false.
   *
   * @defaultValue Node's default for a `Writable` (16 KiB on Node 20, 64 KiB from Node 22)
   */
  highWaterMark?: number | undefined;
  /**
   * Only without `size`: where the source is kept until it ends.
   *
   * @defaultValue `{ memory: 8 * 1024 * 1024 }`: 8 MiB in memory, then a file in `os.tmpdir()`, no limit
   *
   * @example
   * ```ts
   * spool: { maxBytes: 500 * 1024 * 1024 } // refuse a source over 500 MiB
   * ```
   */
  spool?: UploadSpoolOptions | undefined;
  /**
   * Only when init answers without a plan (the whole source goes through one PUT from its first
   * chunk): a source up to this many bytes (an integer from 0 to 2 147 483 647, and no more than
   * `maxBufferMemory`) is also kept, so a failed PUT is retried by replaying it; a larger one
   * cannot be retried once its first byte was sent. 0 keeps nothing. A spooled source is read
   * again instead, whatever its size.
   *
   * @defaultValue `8 * 1024 * 1024` (8 MiB)
   */
  planlessRetryBuffer?: number | undefined;
}

/**
 * The options of `uploadFile(path, options)`. The size comes from the file itself; the name and
 * the type from its path unless given.
 */
export interface UploadFileOptions extends CommonUploadOptions {
  /**
   * The file name sent at init (non-empty).
   *
   * @defaultValue the file's base name
   */
  filename?: string | undefined;
  /**
   * The media type sent at init (non-empty).
   *
   * @defaultValue from the filename's extension (`.mp4` → `video/mp4`, `.jpg` → `image/jpeg`…),
   * else `application/octet-stream`
   */
  contentType?: string | undefined;
  /**
   * Keep a journal of the upload, so that a later call for the same unchanged file (same path,
   * size and mtime, same account, `filename`, `contentType` and `vaultUpload`) sends only the
   * parts the vault has not acknowledged. `true` keeps it in the default folder, `{ dir }` in
   * another. The journal holds no secret and is deleted once the upload is finalized; a lock
   * beside it makes a second process uploading the same file fail with `UploadLockedError`. A
   * folder that cannot be used costs only the resuming: the upload goes on, with a warning.
   *
   * @defaultValue `false`
   *
   * @example
   * ```ts
   * resume: true                            // ~/.cache/ofauth-upload-stream
   * resume: { dir: '/var/lib/myapp/uploads' }
   * ```
   */
  resume?: boolean | ResumeOptions | undefined;
  /** Called when a resume journal for the file was found: whether the upload resumes or starts over, and why. */
  onResume?: ((info: ResumeInfo) => void) | undefined;
  /**
   * Called with the session each attempt uploads to (a new init's answer, or the resumed plan),
   * before any byte is sent: once, or once more if the upload starts over.
   */
  onSession?: ((session: UploadSession) => void) | undefined;
}

const positiveSafeInt = z
  .number()
  .int()
  .positive()
  .refine(Number.isSafeInteger, { message: 'expected a safe integer' });
const millis = z.number().int().nonnegative().max(2_147_483_647);

const isAbortSignal = (value: unknown): value is AbortSignal =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as AbortSignal).aborted === 'boolean' &&
  typeof (value as AbortSignal).addEventListener === 'function';

// By shape, not class: a pacer made by the other build (ESM or CJS) of this package is one too.
const isPacer = (value: unknown): value is RatePacer =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as RatePacer).take === 'function' &&
  typeof (value as RatePacer).observe === 'function';

const isDispatcher = (value: unknown): value is Dispatcher =>
  typeof value === 'object' && value !== null && typeof (value as Dispatcher).dispatch === 'function';

// The validators of the option interfaces above. Their input types must equal the interfaces
// (test/options-types.test.ts proves it both ways): document an option on its interface, check it
// here. Their outputs, with the defaults filled in, are what the code reads.

/** The fields of `CommonUploadOptions`. */
const sharedFields = {
  apiKey: z.string().min(1),
  connectionId: z.string().min(1),
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .default(DEFAULT_BASE_URL),
  vaultUpload: z
    .strictObject({
      mode: z.literal('message').optional(),
      userId: z.string().min(1).nullable().optional(),
    })
    .optional(),
  concurrency: z.number().int().min(1).max(64).default(4),
  retries: z.number().int().min(0).max(100).default(5),
  retryBaseDelay: millis.default(200),
  retryMaxDelay: millis.default(10_000),
  retryAfterMax: millis.default(60_000),
  headersTimeout: millis.default(60_000),
  bodyTimeout: millis.default(60_000),
  maxBufferMemory: positiveSafeInt.default(256 * 1024 * 1024),
  signal: z.custom<AbortSignal>(isAbortSignal, { error: 'expected an AbortSignal' }).optional(),
  dispatcher: z
    .custom<Dispatcher>(isDispatcher, { error: 'expected an undici Dispatcher (Agent, Pool, MockAgent…)' })
    .optional(),
  onProgress: z
    .custom<(progress: UploadProgress) => void>((v) => typeof v === 'function', {
      error: 'expected a function',
    })
    .optional(),
  pacer: z.custom<RatePacer>(isPacer, { error: 'expected a RatePacer (new RatePacer())' }).optional(),
  rateLimitMaxWait: millis.default(600_000),
  onRateLimit: z
    .custom<(event: RateLimitEvent) => void>((v) => typeof v === 'function', {
      error: 'expected a function',
    })
    .optional(),
};

/** @internal Validates `OFAuthUploadOptions`. */
export const optionsSchema = z.strictObject({
  ...sharedFields,
  filename: z.string().min(1),
  size: positiveSafeInt.optional(),
  contentType: z.string().min(1),
  highWaterMark: z.number().int().positive().optional(),
  spool: z
    .strictObject({
      memory: z.number().int().nonnegative().max(2 ** 31 - 1).default(8 * 1024 * 1024),
      dir: z.string().min(1).optional(),
      maxBytes: positiveSafeInt.optional(),
    })
    .default({ memory: 8 * 1024 * 1024 }),
  planlessRetryBuffer: z.number().int().nonnegative().max(2 ** 31 - 1).default(8 * 1024 * 1024),
});

/** @internal Validates `UploadFileOptions`. */
export const fileOptionsSchema = z.strictObject({
  ...sharedFields,
  filename: z.string().min(1).optional(),
  contentType: z.string().min(1).optional(),
  resume: z
    .union([z.boolean(), z.strictObject({ dir: z.string().min(1).optional() })], {
      error: 'expected true, false or { dir?: string }',
    })
    .default(false),
  onResume: z
    .custom<(info: ResumeInfo) => void>((v) => typeof v === 'function', {
      error: 'expected a function',
    })
    .optional(),
  onSession: z
    .custom<(session: UploadSession) => void>((v) => typeof v === 'function', {
      error: 'expected a function',
    })
    .optional(),
});

/** The stream's options once validated, defaults filled in (internal). */
export type ResolvedOptions = z.output<typeof optionsSchema>;
/** `uploadFile`'s options once validated, defaults filled in (internal). */
export type ResolvedFileOptions = z.output<typeof fileOptionsSchema>;

/** Options that may be echoed in messages; the others are secrets or opaque objects. */
const ECHOABLE = new Set(['baseUrl', 'size', 'concurrency', 'retries', 'filename', 'contentType',
  'retryBaseDelay', 'retryMaxDelay', 'retryAfterMax', 'headersTimeout', 'bodyTimeout', 'highWaterMark', 'planlessRetryBuffer',
  'maxBufferMemory', 'spool', 'resume', 'rateLimitMaxWait', 'rangeRetries', 'rangeTimeout', 'ranges']);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * `size` is the option a new user most often gets wrong, and zod's "received undefined" does not
 * say what to do: name the ways out instead.
 */
function sizeIssueText(value: unknown): string {
  const waysOut =
    'pass the exact byte count of the source (fs.stat size, S3 ContentLength, HTTP Content-Length), ' +
    'or omit size when it is unknown: the source is then spooled until it ends (see the spool option)';
  if (value === 0) return `option "size" is 0: the API needs at least one byte; ${waysOut}`;
  return `option "size": expected the exact byte count of the source, a whole number from 1 to ${Number.MAX_SAFE_INTEGER} (got ${describe(value)}); ${waysOut}`;
}

function issueText(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
  if (issue.path.length === 1 && issue.path[0] === 'size') return sizeIssueText(input.size);
  const name = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  const top = String(issue.path[0] ?? '');
  const value = issue.path.reduce<unknown>(
    (v, key) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined),
    input,
  );
  const got = value === undefined ? 'it is missing' : ECHOABLE.has(top) ? `got ${describe(value)}` : `got ${typeof value}`;
  return `option "${name}": ${issue.message} (${got})`;
}

/** Validates `input` against `schema` once, at the door: a wrong option throws before any request. */
export function parseOptions<S extends z.ZodType<{ baseUrl: string }>>(schema: S, input: unknown, subject: string): z.output<S> {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionsError([`expected an options object, got ${describe(input)}`], subject);
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    // One line per problem: a value can break two rules (a huge size) and read the same for both.
    const texts = parsed.error.issues.map((i) => issueText(i, input as Record<string, unknown>));
    throw new InvalidOptionsError([...new Set(texts)], subject);
  }
  // A trailing slash would double up in `${baseUrl}/v2/...`.
  return { ...parsed.data, baseUrl: parsed.data.baseUrl.replace(/\/+$/, '') };
}

/** The stream's options, validated once. */
export function resolveOptions(input: unknown): ResolvedOptions {
  return parseOptions(optionsSchema, input, 'OFAuthUploadStream');
}

/** `uploadFile`'s options, validated once. */
export function resolveFileOptions(input: unknown): ResolvedFileOptions {
  return parseOptions(fileOptionsSchema, input, 'uploadFile');
}
