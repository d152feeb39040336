import { type ResumeMessage, type UploadTraceContext, resumeChannel, startUploadTrace } from './diagnostics/channels';
import { setMaxListeners } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { UploadApi } from './api';
import { AbortError, OFAuthApiError, SourceChangedError, UploadExpiredError, UploadLockedError } from './errors';
import { type TransportSettings, createUploadApi, sinkFor } from './open-upload';
import type { ResolvedFileOptions, ResumeInfo } from './options';
import { type UploadSession, isPlanless, partLength } from './plan';
import { RateLimitTracker } from './rate/rate-limit-tracker';
import { Journal, type JournalKey, defaultResumeDir } from './resume/journal';
import { FileLock } from './resume/lock';
import { resumePoint } from './resume/resume-point';
import { runSession } from './session-attempt';
import type { PartSource } from './sources/part-source';
import type { PartReceipt, SinkResult, UploadResult } from './upload-sink';

/** What identifies a pulled source across runs, for its resume journal. */
export interface SourceKey {
  /** A file's real path, a URL without its query, `s3://bucket/key`, a RangeSource's name. */
  location: string;
  /** A file's mtime in ns, a download's validator, an object's ETag, a RangeSource's version. */
  version: string;
}

/** What the pulled upload of one source is given once it is open. */
export interface PulledUpload {
  options: ResolvedFileOptions;
  source: PartSource;
  filename: string;
  contentType: string;
  /** Computed only when resuming: a file's real path is looked up then. */
  key: () => Promise<SourceKey>;
  /** Who names the journal-dir warning ("uploadFile", "uploadFromUrl"…). */
  caller: string;
}

/** One upload of one source: what every attempt (a resumed session, then maybe a new one) shares. */
interface PulledRun {
  options: ResolvedFileOptions;
  /** This upload on the diagnostics channels (undefined: nobody listened when it started). */
  trace: UploadTraceContext | undefined;
  transport: TransportSettings;
  source: PartSource;
  /** The whole upload's signal: the caller's abort reaches every attempt through it. */
  signal: AbortSignal;
  journal: Journal | undefined;
  /** What the connection's rate limit cost the upload, over all its sessions. */
  rateLimit: RateLimitTracker;
}

/**
 * How an attempt gets its session: a new init, or the one a journal kept (with the parts done).
 * `announce` is told the session the moment it is known, before anything else can fail or be
 * interrupted, so a Ctrl-C can always name the upload it leaves.
 */
type SessionStart = (api: UploadApi, announce: (session: UploadSession) => void) => Promise<{ session: UploadSession; done: readonly PartReceipt[] }>;

/**
 * The upload's one signal, following the caller's: every part, read and backoff wait of every
 * attempt listens on it. `open` runs with it and whatever it opens is closed by its caller.
 */
export async function withUploadSignal<T>(userSignal: AbortSignal | undefined, run: (signal: AbortSignal, fail: (error: unknown) => void) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onAbort = () => controller.abort(new AbortError('The upload was aborted', { cause: userSignal?.reason }));
  if (userSignal?.aborted) throw new AbortError('The upload was aborted', { cause: userSignal.reason });
  userSignal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await run(controller.signal, (error) => {
      if (!controller.signal.aborted) controller.abort(error);
    });
  } finally {
    userSignal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Uploads a source that can be read at any offset (a file, a ranged download): parts are read at
 * their ranges and read again for a retry; with `resume`, a journal beside an exclusive lock lets
 * a later call for the same unchanged source send only the parts the vault has not acknowledged.
 * The caller owns `upload.source` and closes it.
 */
export async function uploadPulled(upload: PulledUpload, signal: AbortSignal, fail: (error: unknown) => void): Promise<UploadResult> {
  const { options, source } = upload;
  const transport: TransportSettings = { ...options, filename: upload.filename, contentType: upload.contentType };
  const onRateLimit = options.onRateLimit;
  const rateLimit = new RateLimitTracker(options.connectionId, (event) => {
    try {
      onRateLimit?.(event);
    } catch (error) {
      // A throwing listener fails the upload, as a throwing onProgress does.
      fail(error);
    }
  });
  const trace = startUploadTrace(() => ({
    filename: upload.filename,
    size: source.size,
    contentType: upload.contentType,
    connectionId: options.connectionId,
    server: new URL(options.baseUrl).origin,
  }));
  const run: PulledRun = { options, trace: trace?.context, transport, source, signal, journal: undefined, rateLimit };
  try {
    const sent =
      options.resume === false
        ? await uploadFresh(run)
        : await uploadResumable(run, upload, options.resume === true ? defaultResumeDir() : (options.resume.dir ?? defaultResumeDir()));
    const result = { ...sent, rateLimit: rateLimit.totals };
    trace?.succeeded(result);
    return result;
  } catch (error) {
    trace?.failed(error);
    throw error;
  }
}

/** Tells `onResume`, and the resume channel. */
function announceResume(run: PulledRun, info: ResumeInfo): void {
  if (resumeChannel.hasSubscribers) {
    const message: ResumeMessage = {
      upload: run.trace,
      mediaUploadId: info.mediaUploadId,
      partsDone: info.partsDone,
      totalParts: info.totalParts,
      restarted: info.restarted,
      ...(info.reason === undefined ? {} : { reason: info.reason }),
    };
    resumeChannel.publish(message);
  }
  run.options.onResume?.(info);
}

/** Under the lock: carry on from the journal if it allows, else (or if the server forgot the session) start over. */
async function uploadResumable(run: PulledRun, upload: PulledUpload, dir: string): Promise<SinkResult> {
  const { transport, source } = run;
  const sourceKey = await upload.key();
  const key: JournalKey = {
    baseUrl: transport.baseUrl,
    connectionId: transport.connectionId,
    path: sourceKey.location,
    size: source.size,
    mtimeNs: sourceKey.version,
    filename: transport.filename,
    contentType: transport.contentType,
    vaultUpload: transport.vaultUpload ?? null,
  };
  const journal = new Journal(dir, key);
  let lock: FileLock;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    lock = await FileLock.acquire(journal.path.replace(/\.json$/, '.lock'));
  } catch (error) {
    if (error instanceof UploadLockedError) throw error;
    // Resuming is a convenience: a journal dir the system refuses (read-only home, no space)
    // must not cost the upload itself. Say so, and upload without a journal.
    const code = (error as { code?: unknown } | null)?.code;
    process.emitWarning(
      `${upload.caller}: the resume journal dir ${dir} cannot be used (${typeof code === 'string' ? code : String(error)}); the upload goes on, but could not be resumed`,
      { code: 'OFAUTH_RESUME_JOURNAL' },
    );
    return uploadFresh(run);
  }
  run.journal = journal;
  try {
    const entry = await journal.load(new URL(transport.baseUrl).origin);
    let result: SinkResult | undefined;
    let restarted: Pick<ResumeInfo, 'reason' | 'previousMediaUploadId'> | undefined;
    if (journal.changedFrom !== undefined) restarted = { reason: 'changed', previousMediaUploadId: journal.changedFrom };
    if (entry !== undefined) {
      const point = resumePoint(entry, Date.now());
      if (point.kind === 'restart') {
        restarted = { reason: point.reason, previousMediaUploadId: point.previous };
      } else {
        const { plan, done } = point;
        const bytesDone = done.reduce((sum, receipt) => sum + partLength(plan.parts[receipt.partNumber - 1]!), 0);
        if (run.trace !== undefined) run.trace.mediaUploadId = plan.mediaUploadId;
        announceResume(run, { mediaUploadId: plan.mediaUploadId, partsDone: done.length, bytesDone, totalParts: plan.parts.length, restarted: false });
        journal.continueWith(entry);
        try {
          result = await attempt(run, async (_api, announce) => {
            announce(plan);
            return { session: plan, done };
          });
        } catch (error) {
          if (!isSessionGone(error)) throw error;
          restarted = { reason: 'gone', previousMediaUploadId: plan.mediaUploadId };
        }
      }
    }
    result ??= await uploadFresh(run, restarted);
    await journal.remove();
    return result;
  } catch (error) {
    // A changed source can never be resumed (its key no longer matches): nothing to keep.
    if (error instanceof SourceChangedError) await journal.remove();
    else await journal.settle();
    throw error;
  } finally {
    await lock.release();
  }
}

/**
 * The upload in a new session. Should that session (or its presigned part URLs) expire before the
 * source is all sent, it is read again into one more new session (the journal follows it): a
 * slow link or a long pause must not cost an upload the source can replay. Once only, so a
 * server handing out dead plans fails typed rather than loops.
 */
async function uploadFresh(run: PulledRun, restarted?: Pick<ResumeInfo, 'reason' | 'previousMediaUploadId'>): Promise<SinkResult> {
  try {
    return await attempt(run, freshSession(run, restarted));
  } catch (error) {
    if (!(error instanceof UploadExpiredError) || run.signal.aborted) throw error;
    return attempt(run, freshSession(run));
  }
}

/** The server no longer has the session (expired, or unknown to it): starting over is the only way. */
function isSessionGone(error: unknown): boolean {
  return error instanceof UploadExpiredError || (error instanceof OFAuthApiError && (error.status === 404 || error.status === 410));
}

/** A new session (init), journaled before any part is sent; `restarted` says which journal it replaces. */
function freshSession(run: PulledRun, restarted?: Pick<ResumeInfo, 'reason' | 'previousMediaUploadId'>): SessionStart {
  return async (api, announce) => {
    const session = await api.init(run.source.size);
    announce(session);
    await run.journal?.start(session);
    if (restarted !== undefined) {
      const totalParts = isPlanless(session) ? 1 : session.parts.length;
      announceResume(run, { mediaUploadId: session.mediaUploadId, partsDone: 0, bytesDone: 0, totalParts, restarted: true, ...restarted });
    }
    return { session, done: [] };
  };
}

/**
 * One session's worth of the upload, with its own signal (a child of the run's), so a resumed
 * session the server has forgotten can be abandoned, every request of it settled, before a new
 * one starts.
 */
async function attempt(run: PulledRun, start: SessionStart): Promise<SinkResult> {
  const { options, source, journal } = run;
  return runSession(run.signal, async ({ signal, fail, track }) => {
    const api = createUploadApi(run.transport, signal, run.rateLimit, run.trace);
    const { session, done } = await start(api, (known) => options.onSession?.(known));
    const onProgress = options.onProgress;
    const sink = sinkFor(
      session,
      source.size,
      source,
      {
        api,
        signal,
        concurrency: options.concurrency,
        maxBufferMemory: options.maxBufferMemory,
        // A pulled source is read again for a retry: nothing is ever kept to replay.
        planlessRetryBuffer: 0,
        onProgress: (progress) => {
          try {
            onProgress?.(progress);
          } catch (error) {
            fail(error);
          }
        },
        onPart: (receipt) => journal?.acknowledge(session.mediaUploadId, receipt),
        onError: fail,
      },
      done,
    );
    track(sink);
    return sink.finish();
  });
}
