import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OFAuthUploadError } from './errors';
import type { OFAuthUploadOptions } from './options';
import type { UploadResult } from './upload-sink';
import { OFAuthUploadStream } from './upload-stream';

export type UploadSource = NodeJS.ReadableStream | Readable | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array> | Uint8Array;

/**
 * Uploads `source` and resolves with the finalized result: the one-call form of
 * `pipeline(source, new OFAuthUploadStream(options))`. A Buffer or Uint8Array is sent as is, and
 * its length is its size: it is never spooled.
 */
export async function uploadToVault(source: UploadSource, options: OFAuthUploadOptions): Promise<UploadResult> {
  // An empty one is left to the stream, which fails it typed (EmptySourceError).
  const known = source instanceof Uint8Array && source.length > 0 && typeof options === 'object' && options !== null && options.size === undefined;
  const upload = new OFAuthUploadStream(known ? { ...options, size: source.length } : options);
  const readable = source instanceof Uint8Array ? Readable.from([source], { objectMode: false }) : source;
  await pipeline(readable as NodeJS.ReadableStream, upload);
  if (upload.result === undefined) {
    throw new OFAuthUploadError('The upload ended without a result', 'ERR_OFAUTH_INTERNAL');
  }
  return upload.result;
}
