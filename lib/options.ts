import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { InvalidOptionsError } from './errors';
import type { UploadSession } from './plan';
import type { RateLimitEvent } from './rate/rate-limit-tracker';
import type { RatePacer } from './rate/rate-pacer';

export const DEFAULT_BASE_URL = 'https://api.ofauth.com';

/**
 * What `uploadFile`'s `onResume` is told when a resume journal for the file was found:
 * `restarted: false` when the acknowledged parts are skipped, `true` when the upload had to start
 * over with a new session (then `reason` says why, and `mediaUploadId` is the new session's).
 */
export interface ResumeInfo {
  mediaUploadId: string;
  /** Parts the vault already has, not sent again (0 when restarted). */
  partsDone: number;
  /** Their bytes: where progress starts from. */
  bytesDone: number;
  totalParts: number;
  restarted: boolean;
  /** Only when restarted: the session expired or had under a minute left; the server no longer knew it (404/410); or it was plan-less (nothing to skip). */
  reason?: 'expired' | 'gone' | 'planless';
  /** Only when restarted: the session the journal held. */
  previousMediaUploadId?: string;
}

/** What `progress` events (and `onProgress`) carry. */
export interface UploadProgress {
  bytesUploaded: number;
  totalBytes: number;
  partsCompleted: number;
  totalParts: number;
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

/** The options `OFAuthUploadStream` and `uploadFile` share: where to, as whom, and how. */
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
  /** The most bytes of part buffers this upload holds, whatever plan the server hands out. */
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
  /** The connection's pacer: default, the one every upload in this process to the same base URL and connection id shares. */
  pacer: z.custom<RatePacer>(isPacer, { error: 'expected a RatePacer (new RatePacer())' }).optional(),
  /** The longest one request waits for the connection's rate limit (pacing and 429s together). */
  rateLimitMaxWait: millis.default(600_000),
  onRateLimit: z
    .custom<(event: RateLimitEvent) => void>((v) => typeof v === 'function', {
      error: 'expected a function',
    })
    .optional(),
};

const optionsSchema = z.strictObject({
  ...sharedFields,
  filename: z.string().min(1),
  /** Omitted: the source is spooled (memory, then one unlinked temp file) until it ends. */
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

const fileOptionsSchema = z.strictObject({
  ...sharedFields,
  /** Default: the file's base name. */
  filename: z.string().min(1).optional(),
  /** Default: from the filename's extension, else application/octet-stream. */
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
  /** The session each attempt uploads to (a new init's answer, or the resumed plan), before any byte is sent. */
  onSession: z
    .custom<(session: UploadSession) => void>((v) => typeof v === 'function', {
      error: 'expected a function',
    })
    .optional(),
});

export type OFAuthUploadOptions = z.input<typeof optionsSchema>;
export type ResolvedOptions = z.output<typeof optionsSchema>;
export type UploadFileOptions = z.input<typeof fileOptionsSchema>;
export type ResolvedFileOptions = z.output<typeof fileOptionsSchema>;

/** Options that may be echoed in messages; the others are secrets or opaque objects. */
const ECHOABLE = new Set(['baseUrl', 'size', 'concurrency', 'retries', 'filename', 'contentType',
  'retryBaseDelay', 'retryMaxDelay', 'retryAfterMax', 'headersTimeout', 'bodyTimeout', 'highWaterMark', 'planlessRetryBuffer',
  'maxBufferMemory', 'spool', 'resume', 'rateLimitMaxWait']);

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
function parseOptions<S extends z.ZodType<{ baseUrl: string }>>(schema: S, input: unknown, subject: string): z.output<S> {
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
