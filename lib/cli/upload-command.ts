import { performance } from 'node:perf_hooks';
import { startEmulator } from '../emulator/index';
import type { Emulator } from '../emulator/types';
import { AbortError } from '../errors';
import type { ResumeInfo } from '../options';
import type { UploadArgs } from './args';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_UPLOAD_FAILED } from './exit-codes';
import { onInterrupt } from './interrupt';
import type { Output, OutputStreams } from './output';
import { ProgressRenderer } from './progress-renderer';
import { openSource } from './source';
import { formatSummary, summarize } from './summary';
import { type Env, resolveTarget } from './target';
import { type Transfer, type TransferHooks, fileTransfer, streamTransfer } from './transfer';

export interface UploadIO extends OutputStreams {
  env: Env;
  stdin: NodeJS.ReadStream;
}

/** The emulator accepts any non-empty connection id unless told otherwise; this one reads well in its log. */
const EMULATOR_CONNECTION_ID = 'ofauth-upload-cli';

const RESTART_REASONS: Record<NonNullable<ResumeInfo['reason']>, string> = {
  expired: 'its session expires in less than a minute',
  gone: 'the server no longer knows it',
  planless: 'a plan-less upload has no parts to skip',
};

/** The line a rerun prints when it found the journal of an interrupted upload of the same file. */
export function resumeNotice(info: ResumeInfo): string {
  if (!info.restarted) return `resuming ${info.mediaUploadId}: ${info.partsDone} of ${info.totalParts} parts already in the vault`;
  const why = info.reason === undefined ? 'it cannot be resumed' : RESTART_REASONS[info.reason];
  return `could not resume ${info.previousMediaUploadId ?? 'the interrupted upload'} (${why}): starting over as ${info.mediaUploadId}`;
}

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
    const resume = target.kind === 'api' && args.resume ? (args.resumeDir === undefined ? true : { dir: args.resumeDir }) : false;
    const hooks: TransferHooks = {
      signal: controller.signal,
      onProgress: (p) => renderer.update(p),
      onSpool: (bytes) => renderer.spooled(bytes),
      onSpooled: (bytes) => renderer.beginUpload(bytes),
      onResume: (info) => {
        renderer.resumedFrom(info.bytesDone);
        out.notice(renderer.clearLine() + resumeNotice(info));
      },
    };
    const transfer =
      source.regularFile === undefined
        ? streamTransfer(source, connection, args, hooks)
        : fileTransfer(source.regularFile, source, connection, args, hooks, resume);

    const started = performance.now();
    renderer.start(source.size);
    let outcome: Awaited<ReturnType<Transfer['run']>>;
    try {
      outcome = await transfer.run();
    } catch (error) {
      renderer.abandon();
      if (!interrupted) throw error;
      // Whatever error the upload settled with, the cause was the user's Ctrl-C. After init the
      // server holds a session we never finalized: name it, so it can be told apart in its logs.
      const message = 'Interrupted (SIGINT): in-flight requests cancelled before the upload was confirmed';
      const mediaUploadId = transfer.mediaUploadId;
      if (mediaUploadId === undefined) out.error(new AbortError(message));
      else {
        const again = transfer.resumable ? '; run the same command again to resume it' : '';
        out.error(new AbortError(`${message}; mediaUploadId ${mediaUploadId} was left unfinished${again}`), undefined, { mediaUploadId });
      }
      return EXIT_INTERRUPTED;
    } finally {
      stopListening();
    }
    renderer.finish();

    const { result, bytes, sha256 } = outcome;
    const summary = summarize({
      target: target.kind,
      baseUrl: connection.baseUrl,
      filename: source.filename,
      contentType: source.contentType,
      bytes,
      elapsedMs: performance.now() - started,
      result,
      sha256,
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
