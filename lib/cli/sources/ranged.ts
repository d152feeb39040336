import { performance } from 'node:perf_hooks';
import type { ResolvedRangedOptions } from '../../ranged-options';
import { resolveRangedOptions } from '../../ranged-options';
import type { RangeSource } from '../../sources/range-source';
import { uploadRangeSource } from '../../upload-from-ranges';
import { OrderedHash } from '../ordered-hash';
import { pulledUploadOptions } from './pulled-options';
import type { SourceIdentity } from './source-item';
import type { StreamContext, StreamResult } from './stream-to-vault';

/** Bytes read ahead of the hash's position that may be copied to hash them in order. */
const HASH_PENDING_MAX = 64 * 1024 * 1024;

/** A ranged source's identity for the manifest: its ETag as before, or its other validator. */
export function rangedIdentity(source: RangeSource): SourceIdentity & { kind: 'etag' } {
  const etag = source.version.startsWith('etag:') ? source.version.slice('etag:'.length) : source.version;
  return { kind: 'etag', etag, size: source.size };
}

/**
 * Uploads a download or S3 object read by byte range (the library's ranged upload) with the
 * batch's connection, tuning and resume settings. The sha256 the summary compares is of the
 * bytes as they were read, put back in order; a resumed upload, which does not read the parts
 * the vault has, has none.
 */
export async function uploadRanged(source: RangeSource, filename: string, contentType: string, ctx: StreamContext): Promise<StreamResult> {
  const identity = rangedIdentity(source);
  if (ctx.recorded(identity)) {
    await source.close?.();
    return { kind: 'skipped', identity };
  }
  ctx.events.opened(filename, source.size);
  ctx.events.readByRange?.();
  const hash = new OrderedHash(source.size, HASH_PENDING_MAX);
  const options: ResolvedRangedOptions = resolveRangedOptions(pulledUploadOptions(ctx, filename, contentType), 'ofauth-upload');
  const started = performance.now();
  try {
    const result = await uploadRangeSource(source, options, 'ofauth-upload', (position, chunk) => hash.add(position, chunk));
    return {
      kind: 'uploaded',
      filename,
      contentType,
      bytes: result.size,
      sha256: hash.digest(),
      result,
      identity,
      elapsedMs: performance.now() - started,
      download: result.download,
    };
  } finally {
    await source.close?.();
  }
}
