import { EmptySourceError, InvalidOptionsError } from './errors';
import { contentTypeFor } from './media-types';
import { uploadPulled, withUploadSignal } from './pulled-upload';
import { type RangedUploadOptions, type ResolvedRangedOptions, resolveRangedOptions } from './ranged-options';
import { type OnRangeData, RangedPartSource } from './sources/ranged-part-source';
import type { DownloadStats, RangeSource } from './sources/range-source';
import type { UploadResult } from './upload-sink';

/** What an upload from a remote source leaves: the upload's result and what reading the source cost. */
export interface RangedUploadResult extends UploadResult {
  /** How the source was read (by range, or once front to back) and the bytes this call downloaded. */
  download: DownloadStats;
}

/**
 * Uploads a source that answers byte ranges (see `RangeSource`) and resolves once the vault has
 * it: each part is read by its range when a buffer frees, up to `concurrency` at once; a cut or
 * failed read asks again for what it did not deliver (`rangeRetries`, `rangeTimeout`); a part
 * whose PUT fails is sent again from its buffer. With `resume`, the upload is journaled under the
 * source's `name` and `version`: the same call after a crash sends only the missing parts, and a
 * new version starts over (`onResume` says so). The source is closed when the upload ends.
 */
export async function uploadFromRanges(source: RangeSource, options: RangedUploadOptions): Promise<RangedUploadResult> {
  const resolved = resolveRangedOptions(options, 'uploadFromRanges');
  try {
    checkSource(source);
    return await uploadRangeSource(source, resolved, 'uploadFromRanges');
  } finally {
    await source.close?.().catch(() => undefined);
  }
}

function checkSource(source: RangeSource): void {
  if (typeof source !== 'object' || source === null || typeof source.readRange !== 'function') {
    throw new InvalidOptionsError(['expected a RangeSource: { size, name, version, readRange(start, end, signal) }'], 'uploadFromRanges');
  }
  const problems: string[] = [];
  if (!Number.isSafeInteger(source.size) || source.size < 0) problems.push(`source.size: expected a whole number of bytes (got ${String(source.size)})`);
  if (typeof source.name !== 'string' || source.name === '') problems.push('source.name: expected a non-empty string');
  if (typeof source.version !== 'string' || source.version === '') problems.push('source.version: expected a non-empty string');
  if (problems.length > 0) throw new InvalidOptionsError(problems, 'uploadFromRanges');
  if (source.size === 0) throw new EmptySourceError(`${source.name} is empty; nothing was uploaded (the vault does not take empty files)`);
}

/** The ranged upload of an open source, options already validated (shared with uploadFromUrl and uploadFromS3). */
export async function uploadRangeSource(source: RangeSource, options: ResolvedRangedOptions, caller: string, onData?: OnRangeData): Promise<RangedUploadResult> {
  return withUploadSignal(options.signal, async (signal, fail) => {
    const parts = new RangedPartSource(
      source,
      { retries: options.rangeRetries, timeout: options.rangeTimeout, baseDelay: options.retryBaseDelay, maxDelay: options.retryMaxDelay },
      signal,
      onData,
    );
    const filename = options.filename ?? source.filename ?? lastSegment(source.name) ?? 'download';
    const result = await uploadPulled(
      {
        options,
        source: parts,
        filename,
        contentType: options.contentType ?? source.contentType ?? contentTypeFor(filename),
        key: async () => ({ location: source.name, version: source.version }),
        caller,
      },
      signal,
      fail,
    );
    return { ...result, download: parts.stats };
  });
}

function lastSegment(name: string): string | undefined {
  const segment = name.split(/[/?#]/).filter(Boolean).at(-1);
  return segment === undefined || /^[a-z0-9+.-]+:$/i.test(segment) ? undefined : segment;
}
