import type { Dispatcher } from 'undici';
import { sampleSource } from '../sample-source';
import { chooseContentType } from './content-type';
import { uploadFileSource } from './file';
import { uploadS3Object } from './s3';
import type { S3Access } from './s3-client';
import type { SourceItem } from './source-item';
import { type StreamContext, type StreamResult, streamToVault } from './stream-to-vault';
import { uploadUrl } from './url';

export interface SourceContext extends StreamContext {
  stdin: NodeJS.ReadStream;
  /** The batch's pool with redirects followed: for downloads only. */
  downloads: Dispatcher;
  /** Loaded when an s3:// source was given. */
  s3: S3Access | undefined;
  /** --filename (one source only) and --content-type. */
  filename?: string | undefined;
  contentType?: string | undefined;
  userAgent: string;
}

/** Opens one source by its kind and streams it to the vault. */
export async function uploadSource(item: SourceItem, ctx: SourceContext): Promise<StreamResult> {
  const overrides = { filename: ctx.filename, contentType: ctx.contentType };
  switch (item.kind) {
    case 'file':
      return uploadFileSource(item, ctx, overrides);
    case 'stdin': {
      const filename = ctx.filename ?? 'stdin';
      return streamToVault(
        { stream: ctx.stdin, size: item.size, filename, contentType: chooseContentType(filename, undefined, ctx.contentType), close: async () => {} },
        ctx,
      );
    }
    case 'sample': {
      const filename = ctx.filename ?? `sample-${item.label}.bin`;
      const stream = sampleSource(item.size);
      const contentType = chooseContentType(filename, undefined, ctx.contentType);
      return streamToVault({ stream, size: item.size, filename, contentType, close: async () => void stream.destroy() }, ctx);
    }
    case 'url':
      return uploadUrl(item, ctx.downloads, ctx, { ...overrides, userAgent: ctx.userAgent });
    case 's3':
      if (ctx.s3 === undefined) throw new Error('internal: an s3:// source without an S3 client');
      return uploadS3Object(item, ctx.s3, ctx, overrides);
    case 'unavailable':
      throw item.error;
  }
}
