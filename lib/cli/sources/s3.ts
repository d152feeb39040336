import { SourceError } from '../source-error';
import { safeFilename } from './content-disposition';
import { chooseContentType } from './content-type';
import { type S3Access, s3Failure } from './s3-client';
import type { OpenedSource, SourceItem } from './source-item';

export type S3Item = Extract<SourceItem, { kind: 's3' }>;

export function s3Source(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export interface S3Overrides {
  filename?: string | undefined;
  contentType?: string | undefined;
}

/** GETs the object and opens its body as the source: streamed, no temp file; the size from ContentLength. */
export async function openS3Object(item: S3Item, s3: S3Access, signal: AbortSignal, overrides: S3Overrides): Promise<OpenedSource> {
  let answer;
  try {
    answer = await s3.get(item.bucket, item.key, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    throw s3Failure(item.source, 'GetObject', error);
  }
  const { body, size, etag } = answer;
  const discard = (): void => {
    body.on('error', () => undefined);
    body.destroy();
  };
  if (size === 0) {
    discard();
    throw new SourceError(`${item.source} is empty: the vault takes no empty files`, { reason: 'empty', source: item.source });
  }
  const filename = overrides.filename ?? safeFilename(item.key) ?? 'object';
  return {
    stream: body,
    size,
    filename,
    contentType: chooseContentType(filename, answer.contentType, overrides.contentType),
    ...(etag === undefined ? {} : { identity: { kind: 'etag' as const, etag, ...(size === undefined ? {} : { size }) } }),
    close: async () => discard(),
  };
}
