import { Agent, interceptors } from 'undici';
import { version } from '../../package.json';
import { startEmulator } from '../emulator/index';
import type { Emulator } from '../emulator/types';
import { AbortError } from '../errors';
import type { UploadArgs } from './args';
import { BatchReporter } from './batch/batch-reporter';
import { EMBEDDED_EMULATOR, Manifest, type ManifestTarget } from './batch/manifest';
import type { Reporter } from './batch/reporter';
import { runBatch } from './batch/run-batch';
import { SingleReporter } from './batch/single-reporter';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_UPLOAD_FAILED } from './exit-codes';
import { onInterrupt } from './interrupt';
import type { Output, OutputStreams } from './output';
import { type Expansion, expandSources } from './sources/expand';
import { type S3Access, connectS3, loadS3Module } from './sources/s3-client';
import type { Connection } from './sources/stream-to-vault';
import { MAX_REDIRECTS } from './sources/url';
import { type Env, type Target, resolveTarget } from './target';
import { TraceFile } from './trace-file';

export interface UploadIO extends OutputStreams {
  env: Env;
  stdin: NodeJS.ReadStream;
}

/** The emulator accepts any non-empty connection id unless told otherwise; this one reads well in its log. */
const EMULATOR_CONNECTION_ID = 'ofauth-upload-cli';

/** The account a manifest line is for: the embedded emulator is one (its URL changes each run). */
function manifestTarget(target: Target): ManifestTarget {
  if (target.kind === 'emulator') return { baseUrl: EMBEDDED_EMULATOR, connectionId: EMULATOR_CONNECTION_ID };
  // One spelling per server: no trailing slash, the URL parser's case and port.
  return { baseUrl: new URL(target.baseUrl).href.replace(/\/+$/, ''), connectionId: target.connectionId };
}

/**
 * Resolves to the exit code; throws a UsageError (exit 2) for what is wrong before anything is
 * sent. Everything after that is a source's outcome: 0 when every source was uploaded or skipped,
 * 1 when any failed (the others still ran), 130 after Ctrl-C.
 */
export async function runUpload(args: UploadArgs, io: UploadIO, out: Output): Promise<number> {
  out.quiet = args.quiet;
  const target = resolveTarget(io.env);
  const controller = new AbortController();
  // Ctrl-C from here on cancels the batch: nothing new starts, running uploads are aborted.
  const stopListening = onInterrupt(() => controller.abort(new AbortError('Interrupted (SIGINT)')));
  let manifest: Manifest | undefined;
  let s3: S3Access | undefined;
  let emulator: Emulator | undefined;
  let trace: TraceFile | undefined;
  // One pool for every upload of the batch (and the downloads), so --jobs shares connections.
  const agent = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });
  try {
    // Before anything is sent: every upload of the run is traced, and a file that cannot be written is a usage error.
    trace = args.trace === undefined ? undefined : TraceFile.open(args.trace, target.kind === 'api' ? [target.apiKey] : []);
    manifest = args.manifest === undefined ? undefined : await Manifest.open(args.manifest, manifestTarget(target));
    if (manifest !== undefined && manifest.unreadableLines > 0) {
      out.notice(`${args.manifest}: ${manifest.unreadableLines} line${manifest.unreadableLines === 1 ? '' : 's'} that are not manifest entries ignored`);
    }
    let expansion: Expansion | undefined;
    try {
      expansion = await expandSources(
        args,
        io.stdin,
        async () => (s3 ??= await connectS3(await loadS3Module(), { endpoint: args.s3Endpoint })),
        controller.signal,
      );
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    if (expansion === undefined || controller.signal.aborted) {
      out.error(new AbortError('Interrupted (SIGINT) before any upload started'));
      return EXIT_INTERRUPTED;
    }
    for (const notice of expansion.notices) out.notice(notice);

    let connection: Connection;
    if (target.kind === 'emulator') {
      // 'sha256': the whole-media hash the CLI compares, without md5-ing every part too (about twice as fast).
      emulator = await startEmulator({ host: '127.0.0.1', hashing: 'sha256' });
      connection = { baseUrl: emulator.url, apiKey: emulator.apiKey, connectionId: EMULATOR_CONNECTION_ID };
      out.notice(`No OFAUTH_API_KEY set: uploading to the embedded emulator at ${emulator.url} (nothing leaves this machine).`);
    } else {
      connection = { baseUrl: target.baseUrl, apiKey: target.apiKey, connectionId: target.connectionId };
    }
    const stored = emulator;

    const reporter: Reporter = expansion.single
      ? new SingleReporter(out, io, args.quiet)
      : new BatchReporter(out, io, { mode: !args.quiet && io.stderr.isTTY ? 'live' : 'lines' });
    const totals = await runBatch({
      items: expansion.items,
      jobs: args.jobs,
      context: {
        connection,
        tuning: {
          ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
          ...(args.retries === undefined ? {} : { retries: args.retries }),
          ...(args.vaultUserId === undefined ? {} : { vaultUserId: args.vaultUserId }),
          ...(args.spoolDir === undefined ? {} : { spoolDir: args.spoolDir }),
          ...(args.spoolMemory === undefined ? {} : { spoolMemory: args.spoolMemory }),
          ...(args.maxSize === undefined ? {} : { maxSize: args.maxSize }),
        },
        // Resumed only against a real or separate server: the embedded emulator's sessions die with the process.
        resume: target.kind === 'api' && args.resume ? (args.resumeDir === undefined ? true : { dir: args.resumeDir }) : false,
        dispatcher: agent,
        downloads: agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })),
        signal: controller.signal,
        stdin: io.stdin,
        s3,
        filename: args.filename,
        contentType: args.contentType,
        userAgent: `ofauth-upload/${version}`,
      },
      target: { kind: target.kind, baseUrl: connection.baseUrl },
      manifest,
      // Our own emulator can be asked what it stored; a missing hash counts as a mismatch.
      storedSha256: stored === undefined ? undefined : (id) => stored.media(id)?.sha256 ?? '(nothing stored)',
      reporter,
    });
    if (totals.interrupted) return EXIT_INTERRUPTED;
    return totals.failed > 0 ? EXIT_UPLOAD_FAILED : EXIT_OK;
  } finally {
    stopListening();
    // Every upload has settled (its last event is written): stop tracing and close the file.
    const traceFailure = trace?.close();
    if (traceFailure !== undefined) out.problem(`--trace ${JSON.stringify(trace?.path)}: writing failed (${traceFailure.message}); the trace is incomplete`);
    await manifest?.close().catch(() => undefined);
    s3?.destroy();
    await agent.destroy().catch(() => undefined);
    await emulator?.close();
  }
}
