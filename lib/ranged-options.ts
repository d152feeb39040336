import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { type UploadFileOptions, type UploadSpoolOptions, fileOptionsSchema, optionsSchema, parseOptions } from './options';

/**
 * The options of `uploadFromRanges` (and the base of `uploadFromUrl`'s and `uploadFromS3`'s):
 * `uploadFile`'s, plus how each byte range is read from the source.
 */
export interface RangedUploadOptions extends UploadFileOptions {
  /**
   * Failed reads of one byte range tried again before the upload fails with `SourceReadError`: a
   * cut connection, a timeout, a 5xx. Each retry asks only for the bytes not yet delivered.
   * Whole number, 0 to 100.
   *
   * @defaultValue `10`
   */
  rangeRetries?: number | undefined;
  /**
   * Milliseconds a range read may go without a byte from the source (the wait for its first one
   * included) before it is cut and asked for again. The time the upload itself holds a read
   * back (backpressure) does not count. 0 disables it; at most 2147483647.
   *
   * @defaultValue `30000`
   */
  rangeTimeout?: number | undefined;
}

/** The options of `uploadFromUrl`: a ranged upload's, plus how the URL is fetched. */
export interface UrlUploadOptions extends RangedUploadOptions {
  /**
   * Headers for the download (e.g. the source host's own `authorization`). They go to the
   * download's host (and its redirects, less credentials across origins), never to the API; the
   * API key is never sent to the download.
   */
  headers?: Record<string, string> | undefined;
  /**
   * The dispatcher downloads go through. Redirects are then its business: add undici's
   * `interceptors.redirect` to follow them.
   *
   * @defaultValue undici's global dispatcher when it was set with undici's own
   * `setGlobalDispatcher` (a ProxyAgent, a MockAgent), else the package's connection pool;
   * following up to 5 redirects
   */
  downloadDispatcher?: Dispatcher | undefined;
  /**
   * `false`: read the URL once, front to back, even when the server answers byte ranges (no
   * range reads, no resume).
   *
   * @defaultValue `true`
   */
  ranges?: boolean | undefined;
  /**
   * Only when the server answers no ranges and sends no Content-Length: how the download is
   * spooled until it ends (see `OFAuthUploadOptions.spool`).
   */
  spool?: UploadSpoolOptions | undefined;
}

/** The options of `uploadFromS3`: a ranged upload's. */
export type S3UploadOptions = RangedUploadOptions;

const millis = z.number().int().nonnegative().max(2_147_483_647);

const rangedFields = {
  rangeRetries: z.number().int().min(0).max(100).default(10),
  rangeTimeout: millis.default(30_000),
};

/** @internal Validates `RangedUploadOptions`. */
export const rangedOptionsSchema = fileOptionsSchema.extend(rangedFields);

const isDispatcher = (value: unknown): value is Dispatcher =>
  typeof value === 'object' && value !== null && typeof (value as Dispatcher).dispatch === 'function';

/** @internal Validates `UrlUploadOptions`. */
export const urlOptionsSchema = rangedOptionsSchema.extend({
  headers: z.record(z.string(), z.string()).optional(),
  downloadDispatcher: z
    .custom<Dispatcher>(isDispatcher, { error: 'expected an undici Dispatcher (Agent, Pool, MockAgent…)' })
    .optional(),
  ranges: z.boolean().default(true),
  spool: optionsSchema.shape.spool,
});

export type ResolvedRangedOptions = z.output<typeof rangedOptionsSchema>;
export type ResolvedUrlOptions = z.output<typeof urlOptionsSchema>;

export function resolveRangedOptions(input: unknown, subject: string): ResolvedRangedOptions {
  return parseOptions(rangedOptionsSchema, input, subject);
}

export function resolveUrlOptions(input: unknown): ResolvedUrlOptions {
  return parseOptions(urlOptionsSchema, input, 'uploadFromUrl');
}
