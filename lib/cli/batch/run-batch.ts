import { performance } from 'node:perf_hooks';
import { manifestKey } from '../sources/expand';
import type { SourceIdentity, SourceItem } from '../sources/source-item';
import type { StreamResult, UploadEvents } from '../sources/stream-to-vault';
import { type SourceContext, uploadSource } from '../sources/upload-source';
import { summarize } from '../summary';
import type { Manifest } from './manifest';
import { ManifestError } from './manifest-error';
import type { BatchTotals, CancelStage, SourceOutcome } from './outcome';
import type { Reporter } from './reporter';
import { runPool } from './pool';

export interface BatchRun {
  items: readonly SourceItem[];
  jobs: number;
  /** Everything a source needs but its own name, events and manifest check. */
  context: Omit<SourceContext, 'source' | 'events' | 'recorded'>;
  target: { kind: 'emulator' | 'api'; baseUrl: string };
  manifest: Manifest | undefined;
  /** The embedded emulator's stored sha256 of an upload, to compare (undefined against a real API). */
  storedSha256: ((mediaUploadId: string) => string) | undefined;
  reporter: Reporter;
}

/**
 * The identity known before a source is opened: an S3 object's listing, so a recorded object is
 * skipped without a request. Not a file's: the folder was listed when the batch began, and a file
 * changed since then must be judged by the stat taken when it is opened (file.ts).
 */
function identityBeforeOpening(item: SourceItem): SourceIdentity | undefined {
  if (item.kind === 's3' && item.listed?.etag !== undefined) return { kind: 'etag', etag: item.listed.etag, size: item.listed.size };
  return undefined;
}

async function record(manifest: Manifest, key: string, result: Extract<StreamResult, { kind: 'uploaded' }>): Promise<void> {
  const { identity } = result;
  await manifest.append({
    source: key,
    size: result.bytes,
    ...(identity?.kind === 'file' ? { mtimeMs: identity.mtimeMs } : {}),
    ...(identity?.kind === 'etag' ? { etag: identity.etag } : {}),
    ...(result.sha256 === undefined ? {} : { sha256: result.sha256 }),
    mediaUploadId: result.result.mediaUploadId,
    mediaId: result.result.media?.id ?? null,
    filename: result.filename,
    uploadedAt: new Date().toISOString(),
  });
}

/**
 * Uploads the sources, `jobs` at once, each to its end: a failure is that source's, the others go
 * on. A source the manifest holds unchanged is skipped; each upload that completes is appended to
 * the manifest before it is reported. Once the signal aborts (Ctrl-C), no source is started and
 * the running ones are cancelled, except those with every part in the vault, which finish (only
 * complete is left); whatever completed is recorded.
 */
export async function runBatch(run: BatchRun): Promise<BatchTotals> {
  const { manifest, reporter, context } = run;
  const { signal } = context;
  const totals: BatchTotals = {
    sources: run.items.length,
    uploaded: 0,
    skipped: 0,
    failed: 0,
    cancelled: 0,
    notStarted: 0,
    bytes: 0,
    elapsedMs: 0,
    interrupted: false,
    rateLimit: { waitedMs: 0, refusals: 0 },
  };
  const started = performance.now();

  const uploadOne = async (item: SourceItem): Promise<SourceOutcome> => {
    const key = manifestKey(item);
    const known = identityBeforeOpening(item);
    const entry = known === undefined ? undefined : manifest?.find(key, known);
    if (entry !== undefined) return { type: 'skipped', item, entry };
    const events = reporter.started(item);
    let mediaUploadId: string | undefined;
    // Ctrl-C cancels an upload unless every part is already in the vault: then only complete is
    // left, which the server may carry out even if we cancel it. Cancelled, that upload could be
    // in the vault but not in the manifest, and a re-run would upload it twice; let it finish.
    const own = new AbortController();
    let finalizing = false;
    // Until a request of this upload may be in flight, a Ctrl-C has cancelled nothing but reading.
    let stage: CancelStage | undefined = 'opening';
    /** What an earlier run left in the vault (a resumed upload): not sent by this run. */
    let alreadyInVault = 0;
    const interrupt = (): void => {
      if (!finalizing) own.abort(signal.reason);
      else reporter.notice(`ofauth-upload: finishing ${item.source}: all of it is in the vault, only finalizing is left (Ctrl-C again to exit now)`);
    };
    signal.addEventListener('abort', interrupt, { once: true });
    if (signal.aborted) interrupt();
    let byRange = false;
    const tracked: UploadEvents = {
      ...events,
      readByRange: () => (byRange = true),
      opened: (filename, size) => {
        // A known size: the session opens with the first chunk. Unknown: only once it is all buffered.
        stage = size === undefined ? 'buffering' : undefined;
        events.opened(filename, size);
      },
      resumed: (info) => {
        // The last word counts: a resumed session found gone starts over, and sends everything.
        alreadyInVault = info.restarted ? 0 : info.bytesDone;
        events.resumed(info);
      },
      session: (id) => {
        stage = undefined;
        mediaUploadId = id;
        // A new session (uploadFile starting over after a resumed one was gone) has sent nothing:
        // not finalizing any more, and a Ctrl-C that was held back applies now.
        finalizing = false;
        if (signal.aborted) own.abort(signal.reason);
        events.session(id);
      },
      progress: (progress) => {
        // Every part acknowledged (only complete is left), or the one PUT that finalizes by itself
        // (a single plan, a plan-less session) has handed over its whole body.
        if (progress.partsCompleted === progress.totalParts || (progress.totalParts === 1 && progress.bytesUploaded === progress.totalBytes)) finalizing = true;
        events.progress(progress);
      },
    };
    try {
      const result = await uploadSource(item, {
        ...context,
        signal: own.signal,
        source: item.source,
        events: tracked,
        recorded: (identity) => manifest?.find(key, identity) !== undefined,
      });
      if (result.kind === 'skipped') {
        const found = manifest?.find(key, result.identity);
        if (found === undefined) throw new Error('internal: skipped a source the manifest does not hold');
        return { type: 'skipped', item, entry: found };
      }
      const summary = summarize({
        target: run.target.kind,
        baseUrl: run.target.baseUrl,
        filename: result.filename,
        contentType: result.contentType,
        bytes: result.bytes,
        elapsedMs: result.elapsedMs,
        result: result.result,
        sha256: result.sha256,
        download: result.download,
        storedSha256: run.storedSha256?.(result.result.mediaUploadId),
        alreadyInVault,
      });
      // Only what is certainly in the vault, as sent, goes into the manifest.
      if (summary.ok && manifest !== undefined) {
        try {
          await record(manifest, key, result);
        } catch (error) {
          return { type: 'failed', item, error: new ManifestError(manifest.path, result.result.mediaUploadId, error) };
        }
      }
      return { type: 'uploaded', item, summary };
    } catch (error) {
      if (own.signal.aborted) {
        // A regular file, a download or object read by range, with a journal: the same command
        // sends only what the vault lacks.
        const resumable = ((item.kind === 'file' && item.stats !== undefined) || byRange) && context.resume !== false;
        return { type: 'cancelled', item, ...(mediaUploadId === undefined ? {} : { mediaUploadId }), resumable, ...(stage === undefined ? {} : { stage }) };
      }
      return { type: 'failed', item, error, ...(mediaUploadId === undefined ? {} : { mediaUploadId }) };
    } finally {
      signal.removeEventListener('abort', interrupt);
    }
  };

  reporter.begin(run.items);
  const count = await runPool(run.items, run.jobs, signal, async (item) => {
    const outcome = await uploadOne(item);
    if (outcome.type === 'uploaded') {
      // What this run sent: a resumed upload's earlier parts are not this run's bytes, nor its rate.
      totals.bytes += outcome.summary.bytesSent ?? outcome.summary.bytes;
      totals.rateLimit.waitedMs += outcome.summary.rateLimit.waitedMs;
      totals.rateLimit.refusals += outcome.summary.rateLimit.refusals;
      if (outcome.summary.ok) totals.uploaded++;
      else totals.failed++;
    } else totals[outcome.type === 'skipped' ? 'skipped' : outcome.type === 'failed' ? 'failed' : 'cancelled']++;
    reporter.finished(outcome);
  });
  totals.interrupted = signal.aborted;
  totals.notStarted = run.items.length - count;
  totals.elapsedMs = performance.now() - started;
  reporter.end(totals);
  return totals;
}
