import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { startEmulator } from '../emulator/index';
import type { Emulator } from '../emulator/types';
import { AbortError } from '../errors';
import { OFAuthUploadStream } from '../upload-stream';
import type { UploadArgs } from './args';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_UPLOAD_FAILED } from './exit-codes';
import { HashTap } from './hash-tap';
import { onInterrupt } from './interrupt';
import type { Output, OutputStreams } from './output';
import { ProgressRenderer } from './progress-renderer';
import { openSource } from './source';
import { formatSummary, summarize } from './summary';
import { type Env, resolveTarget } from './target';

export interface UploadIO extends OutputStreams {
  env: Env;
  stdin: NodeJS.ReadStream;
}

/** The emulator accepts any non-empty connection id unless told otherwise; this one reads well in its log. */
const EMULATOR_CONNECTION_ID = 'ofauth-upload-cli';

/** Resolves to the exit code; throws (UsageError or a typed upload error) for main to print. */
export async function runUpload(args: UploadArgs, io: UploadIO, out: Output): Promise<number> {
  out.quiet = args.quiet;
  const target = resolveTarget(io.env);
  const source = await openSource(args.source, args, io.stdin);
  let emulator: Emulator | undefined;
  try {
    let connection: { baseUrl: string; apiKey: string; connectionId: string };
    if (target.kind === 'emulator') {
      // 'sha256': the whole-media hash the CLI compares, without md5-ing every part too (about twice as fast).
      emulator = await startEmulator({ host: '127.0.0.1', hashing: 'sha256' });
      connection = { baseUrl: emulator.url, apiKey: emulator.apiKey, connectionId: EMULATOR_CONNECTION_ID };
      out.notice(`No OFAUTH_API_KEY set: uploading to the embedded emulator at ${emulator.url} (nothing leaves this machine).`);
    } else {
      connection = { baseUrl: target.baseUrl, apiKey: target.apiKey, connectionId: target.connectionId };
    }

    const controller = new AbortController();
    let interrupted = false;
    const stopListening = onInterrupt(() => {
      interrupted = true;
      controller.abort(new AbortError('Interrupted (SIGINT)'));
    });
    const renderer = new ProgressRenderer({
      mode: args.quiet ? 'off' : io.stderr.isTTY ? 'bar' : 'lines',
      out: io.stderr,
    });
    const upload = new OFAuthUploadStream({
      ...connection,
      filename: source.filename,
      size: source.size,
      contentType: source.contentType,
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...(args.retries === undefined ? {} : { retries: args.retries }),
      ...(args.vaultUserId === undefined ? {} : { vaultUpload: { userId: args.vaultUserId } }),
      // Used only without a size: the source is spooled (memory, then one unlinked temp file).
      spool: {
        ...(args.spoolMemory === undefined ? {} : { memory: args.spoolMemory }),
        ...(args.spoolDir === undefined ? {} : { dir: args.spoolDir }),
        ...(args.maxSize === undefined ? {} : { maxBytes: args.maxSize }),
      },
      signal: controller.signal,
    });
    const tap = new HashTap();
    upload.on('progress', (p) => renderer.update(p));
    upload.on('spool', (p) => renderer.spooled(p.bytes));
    // A spooled source has ended by the time its session opens: the tap has counted all of it.
    if (source.size === undefined) upload.on('session', () => renderer.beginUpload(tap.bytes));

    const started = performance.now();
    renderer.start(source.size);
    try {
      await pipeline(source.stream, tap, upload);
    } catch (error) {
      renderer.abandon();
      if (!interrupted) throw error;
      // Whatever error the pipeline settled with, the cause was the user's Ctrl-C. After init the
      // server holds a session we never finalized: name it, so it can be told apart in its logs.
      const message = 'Interrupted (SIGINT): in-flight requests cancelled before the upload was confirmed';
      const mediaUploadId = upload.session?.mediaUploadId;
      if (mediaUploadId === undefined) out.error(new AbortError(message));
      else out.error(new AbortError(`${message}; mediaUploadId ${mediaUploadId} was left unfinished`), undefined, { mediaUploadId });
      return EXIT_INTERRUPTED;
    } finally {
      stopListening();
    }
    renderer.finish();

    const result = upload.result;
    if (result === undefined) throw new Error('internal: the upload finished without a result');
    const summary = summarize({
      target: target.kind,
      baseUrl: connection.baseUrl,
      filename: source.filename,
      contentType: source.contentType,
      bytes: tap.bytes,
      elapsedMs: performance.now() - started,
      result,
      sha256: tap.digest(),
      // Our own emulator can be asked what it stored; a missing hash counts as a mismatch.
      storedSha256: emulator && (emulator.media(result.mediaUploadId)?.sha256 ?? '(nothing stored)'),
    });
    out.result(formatSummary(summary), summary);
    return summary.ok ? EXIT_OK : EXIT_UPLOAD_FAILED;
  } finally {
    await source.close();
    await emulator?.close();
  }
}
