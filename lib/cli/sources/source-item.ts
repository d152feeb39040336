import type { Readable } from 'node:stream';

/**
 * What tells an unchanged source from a changed one, for the manifest: size and mtime for a
 * local file, the ETag for a download or an S3 object (with the size when it is known).
 */
export type SourceIdentity = { kind: 'file'; size: number; mtimeMs: number } | { kind: 'etag'; etag: string; size?: number };

/** One upload to do, found from the command line's SOURCEs (a folder gives one per file). */
export type SourceItem =
  /** A regular file (`stats` from the listing) or a named pipe (no stats: spooled, or `declaredSize`). */
  | { kind: 'file'; source: string; path: string; stats?: { size: number; mtimeMs: number }; declaredSize?: number }
  | { kind: 'stdin'; source: '-'; size?: number }
  | { kind: 'sample'; source: string; size: number; label: string }
  | { kind: 'url'; source: string; url: URL }
  /** `listed`: what the prefix listing said of the object, so a recorded one is skipped without a GET. */
  | { kind: 's3'; source: string; bucket: string; key: string; listed?: { size: number; etag?: string } }
  /** A SOURCE that could not be listed (an S3 prefix): reported as that source's failure. */
  | { kind: 'unavailable'; source: string; error: unknown };

/** An open source, ready to stream: the API wants its name, type and (if known) size at init. */
export interface OpenedSource {
  stream: Readable;
  /** Undefined when only the end tells (a pipe, a chunked download): the upload spools it. */
  size: number | undefined;
  filename: string;
  contentType: string;
  /** Undefined when nothing identifies this source across runs (stdin, a download without ETag). */
  identity?: SourceIdentity;
  /** Releases the source when it is not streamed after all (skipped, or a failure before). */
  close(): Promise<void>;
}
