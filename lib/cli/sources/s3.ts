import { EmptySourceError, SourceReadError } from '../../errors';
import type { S3RangeSource } from '../../sources/s3-range-source';
import { safeFilename } from '../../sources/content-disposition';
import { SourceError } from '../source-error';
import { chooseContentType } from './content-type';
import { uploadRanged } from './ranged';
import { type S3Access, s3Failure } from './s3-client';
import type { SourceItem } from './source-item';
import type { StreamContext, StreamResult } from './stream-to-vault';

export type S3Item = Extract<SourceItem, { kind: 's3' }>;

export function s3Source(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export interface S3Overrides {
  filename?: string | undefined;
  contentType?: string | undefined;
}

/** The library's refusal of an object, as the CLI names a source's failure (S3's own error kept). */
function sourceFailure(item: S3Item, action: string, error: unknown): SourceError | undefined {
  if (error instanceof EmptySourceError) {
    return new SourceError(`${item.source} is empty: the vault takes no empty files`, { reason: 'empty', source: item.source, cause: error });
  }
  if (!(error instanceof SourceReadError)) return undefined;
  return error.cause === undefined ? new SourceError(error.message, { reason: 's3', source: item.source, cause: error }) : s3Failure(item.source, action, error.cause);
}

/**
 * Uploads one object by byte range: HeadObject for its size, ETag and type, then each part a
 * GetObject with `Range` and `IfMatch` on that ETag (a cut read is read again from where it
 * stopped; resumable like a file; an object replaced mid-upload fails typed).
 */
export async function uploadS3Object(item: S3Item, s3: S3Access, ctx: StreamContext, overrides: S3Overrides): Promise<StreamResult> {
  let source: S3RangeSource;
  try {
    source = await s3.ranged(item.bucket, item.key, ctx.signal);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw sourceFailure(item, 'HeadObject', error) ?? s3Failure(item.source, 'HeadObject', error);
  }
  const filename = overrides.filename ?? safeFilename(item.key) ?? 'object';
  const contentType = chooseContentType(filename, source.contentType, overrides.contentType);
  try {
    return await uploadRanged(source, filename, contentType, ctx);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw sourceFailure(item, 'GetObject', error) ?? error;
  }
}
