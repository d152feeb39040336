import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import type { ResumeInfo, UploadProgress } from '../../options';
import type { RateLimitEvent } from '../../rate/rate-limit-tracker';
import type { DownloadStats } from '../../sources/range-source';
import type { UploadResult } from '../../upload-sink';
import { OFAuthUploadStream } from '../../upload-stream';
import type { UploadArgs } from '../args';
import { HashTap } from '../hash-tap';
import { SourceError } from '../source-error';
import type { OpenedSource, SourceIdentity } from './source-item';

export interface Connection {
  baseUrl: string;
  apiKey: string;
  connectionId: string;
}

/** The per-upload flags, the same for every source of a batch. */
export type UploadTuning = Pick<UploadArgs, 'concurrency' | 'retries' | 'vaultUserId' | 'spoolDir' | 'spoolMemory' | 'maxSize'>;

/** What the output hears of one upload while it runs. */
export interface UploadEvents {
  /** The source is open: its name and, unless it must be spooled, its size. */
  opened(filename: string, size: number | undefined): void;
  /** While a source of unknown size is spooled: bytes read so far. */
  spooled(bytes: number): void;
  /** A spooled source ended: its size is known and the upload itself starts. */
  uploading(totalBytes: number): void;
  progress(progress: UploadProgress): void;
  /** Init answered (or a journal was resumed): the session this upload finalizes (or leaves unfinished). */
  session(mediaUploadId: string): void;
  /** A file's journal was found: its upload resumes (or had to start over). */
  resumed(info: ResumeInfo): void;
  /** A request waits for the connection's rate limit (paced, or refused with 429). */
  rateLimited(event: RateLimitEvent): void;
  /** A download or S3 object is read by range: like a file, it can be resumed. */
  readByRange?(): void;
}

export interface StreamContext {
  /** The source as the output names it. */
  source: string;
  connection: Connection;
  tuning: UploadTuning;
  /** The batch's one connection pool. */
  dispatcher: Dispatcher;
  signal: AbortSignal;
  events: UploadEvents;
  /** True when the manifest holds this source with this identity: it is skipped, not sent. */
  recorded(identity: SourceIdentity): boolean;
  /** Files only: keep a resume journal (in the default or the given dir), or none. */
  resume: boolean | { dir: string };
}

export type StreamResult =
  | {
      kind: 'uploaded';
      filename: string;
      contentType: string;
      bytes: number;
      /**
       * Of the bytes as they streamed through this process; undefined when they did not all
       * (a resumed ranged upload skips what the vault has).
       */
      sha256: string | undefined;
      result: UploadResult;
      identity?: SourceIdentity;
      elapsedMs: number;
      /** How the source was read, for downloads and S3 objects. */
      download?: DownloadStats;
    }
  | { kind: 'skipped'; identity: SourceIdentity };

/**
 * Streams one open source into the vault: through a HashTap (the sha256 of exactly what was
 * sent, read once) into an OFAuthUploadStream on the batch's pool. A source the manifest already
 * holds unchanged is closed unread. An error the source itself raised (a download cut short) is
 * reported as the source's, not as the upload's.
 */
export async function streamToVault(source: OpenedSource, ctx: StreamContext): Promise<StreamResult> {
  if (source.identity !== undefined && ctx.recorded(source.identity)) {
    await source.close();
    return { kind: 'skipped', identity: source.identity };
  }
  const { tuning } = ctx;
  // Which stream failed first: a failing upload destroys the source with its own error (so the
  // source emits it too, later), and only a source that failed first is the source's fault.
  let first: 'source' | 'upload' | undefined;
  source.stream.once('error', () => (first ??= 'source'));
  const upload = new OFAuthUploadStream({
    ...ctx.connection,
    filename: source.filename,
    size: source.size,
    contentType: source.contentType,
    ...(tuning.concurrency === undefined ? {} : { concurrency: tuning.concurrency }),
    ...(tuning.retries === undefined ? {} : { retries: tuning.retries }),
    ...(tuning.vaultUserId === undefined ? {} : { vaultUpload: { userId: tuning.vaultUserId } }),
    // Used only without a size: the source is spooled (memory, then one unlinked temp file).
    spool: {
      ...(tuning.spoolMemory === undefined ? {} : { memory: tuning.spoolMemory }),
      ...(tuning.spoolDir === undefined ? {} : { dir: tuning.spoolDir }),
      ...(tuning.maxSize === undefined ? {} : { maxBytes: tuning.maxSize }),
    },
    dispatcher: ctx.dispatcher,
    signal: ctx.signal,
  });
  upload.once('error', () => (first ??= 'upload'));
  const tap = new HashTap();
  upload.on('progress', (p) => ctx.events.progress(p));
  upload.on('rateLimit', (event) => ctx.events.rateLimited(event));
  upload.on('spool', (p) => ctx.events.spooled(p.bytes));
  upload.on('session', (session: { mediaUploadId: string }) => {
    // A spooled source has ended by the time its session opens: the tap has counted all of it.
    if (source.size === undefined) ctx.events.uploading(tap.bytes);
    ctx.events.session(session.mediaUploadId);
  });
  ctx.events.opened(source.filename, source.size);
  const started = performance.now();
  try {
    await pipeline(source.stream, tap, upload);
  } catch (error) {
    await source.close();
    if (first !== 'source' || ctx.signal.aborted || error instanceof SourceError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new SourceError(`reading ${ctx.source} failed: ${message}`, { reason: 'read', source: ctx.source, cause: error });
  }
  const result = upload.result;
  if (result === undefined) throw new Error('internal: the upload finished without a result');
  return {
    kind: 'uploaded',
    filename: source.filename,
    contentType: source.contentType,
    bytes: tap.bytes,
    sha256: tap.digest(),
    result,
    ...(source.identity === undefined ? {} : { identity: source.identity }),
    elapsedMs: performance.now() - started,
  };
}
