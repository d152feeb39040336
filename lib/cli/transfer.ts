import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ResumeInfo, UploadProgress } from '../options';
import { uploadFile } from '../upload-file';
import type { UploadResult } from '../upload-sink';
import { OFAuthUploadStream } from '../upload-stream';
import type { UploadArgs } from './args';
import { HashTap } from './hash-tap';
import type { OpenedSource } from './source';

export interface Connection {
  baseUrl: string;
  apiKey: string;
  connectionId: string;
}

/** One upload as the CLI runs it, whichever way its bytes are read. */
export interface Transfer {
  run(): Promise<{ result: UploadResult; bytes: number; sha256: string }>;
  /** Once init answered: the upload a Ctrl-C leaves unfinished. */
  readonly mediaUploadId: string | undefined;
  /** Whether running the same command again continues it. */
  readonly resumable: boolean;
}

export interface TransferHooks {
  signal: AbortSignal;
  onProgress: (progress: UploadProgress) => void;
  /** A source of unknown size is being spooled: bytes read so far. */
  onSpool: (bytes: number) => void;
  /** The spooled source ended with this many bytes, and its upload starts. */
  onSpooled: (bytes: number) => void;
  onResume: (info: ResumeInfo) => void;
}

function tuning(args: UploadArgs) {
  return {
    ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
    ...(args.retries === undefined ? {} : { retries: args.retries }),
    ...(args.vaultUserId === undefined ? {} : { vaultUpload: { userId: args.vaultUserId } }),
  };
}

/** Stdin, a pipe, a sample: read once, through the stream, hashed on the way. */
export function streamTransfer(source: OpenedSource, connection: Connection, args: UploadArgs, hooks: TransferHooks): Transfer {
  const upload = new OFAuthUploadStream({
    ...connection,
    filename: source.filename,
    size: source.size,
    contentType: source.contentType,
    ...tuning(args),
    // Used only without a size: the source is spooled (memory, then one unlinked temp file).
    spool: {
      ...(args.spoolMemory === undefined ? {} : { memory: args.spoolMemory }),
      ...(args.spoolDir === undefined ? {} : { dir: args.spoolDir }),
      ...(args.maxSize === undefined ? {} : { maxBytes: args.maxSize }),
    },
    signal: hooks.signal,
  });
  const tap = new HashTap();
  upload.on('progress', hooks.onProgress);
  upload.on('spool', (p) => hooks.onSpool(p.bytes));
  // A spooled source has ended by the time its session opens: the tap has counted all of it.
  if (source.size === undefined) upload.on('session', () => hooks.onSpooled(tap.bytes));
  return {
    get mediaUploadId() {
      return upload.session?.mediaUploadId;
    },
    resumable: false,
    async run() {
      await pipeline(source.stream, tap, upload);
      if (upload.result === undefined) throw new Error('internal: the upload finished without a result');
      return { result: upload.result, bytes: tap.bytes, sha256: tap.digest() };
    },
  };
}

/**
 * A regular file: uploaded in place by uploadFile (parts read at their offsets, retried by reading
 * again), with a resume journal unless `resume` is false. Its sha256 is read from the file
 * alongside the upload.
 */
export function fileTransfer(
  path: string,
  source: OpenedSource,
  connection: Connection,
  args: UploadArgs,
  hooks: TransferHooks,
  resume: boolean | { dir: string },
): Transfer {
  let mediaUploadId: string | undefined;
  return {
    get mediaUploadId() {
      return mediaUploadId;
    },
    resumable: resume !== false,
    async run() {
      const stopHashing = new AbortController();
      const hashing = sha256Of(path, AbortSignal.any([hooks.signal, stopHashing.signal]));
      hashing.catch(() => undefined);
      try {
        const result = await uploadFile(path, {
          ...connection,
          filename: source.filename,
          contentType: source.contentType,
          ...tuning(args),
          signal: hooks.signal,
          resume,
          onResume: hooks.onResume,
          onSession: (session) => {
            mediaUploadId = session.mediaUploadId;
          },
          onProgress: hooks.onProgress,
        });
        return { result, bytes: result.size, sha256: await hashing };
      } catch (error) {
        stopHashing.abort();
        throw error;
      } finally {
        // No read of the file outlives the command.
        await hashing.catch(() => undefined);
      }
    },
  };
}

async function sha256Of(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { signal, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
