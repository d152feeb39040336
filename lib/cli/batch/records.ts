import { AbortError } from '../../errors';
import { describeError } from '../describe-error';
import { rateLimitText } from '../summary';
import { formatBytes, formatSeconds, mibPerSecond } from '../units';
import type { BatchTotals, CancelStage, SourceOutcome } from './outcome';

export const INTERRUPTED_MESSAGE = 'Interrupted (SIGINT): in-flight requests cancelled before the upload was confirmed';

/** What a Ctrl-C cancelled when nothing had been uploaded yet. */
const BEFORE_UPLOAD: Record<CancelStage, string> = {
  opening: 'Interrupted (SIGINT) while the source was being opened: nothing was uploaded',
  buffering: 'Interrupted (SIGINT) while the source (size unknown) was still being buffered: nothing was uploaded',
};

/**
 * What a Ctrl-C left of one upload: before anything was uploaded, that nothing was; after init,
 * the session never finalized is named, and for a file with a resume journal, that the same
 * command continues it.
 */
export function cancellation(mediaUploadId: string | undefined, resumable = false, stage?: CancelStage): AbortError {
  if (mediaUploadId === undefined && stage !== undefined) return new AbortError(BEFORE_UPLOAD[stage]);
  if (mediaUploadId === undefined) return new AbortError(INTERRUPTED_MESSAGE);
  const again = resumable ? '; run the same command again to resume it' : '';
  return new AbortError(`${INTERRUPTED_MESSAGE}; mediaUploadId ${mediaUploadId} was left unfinished${again}`);
}

/** The --json line of one source. Never carries the API key: errors describe themselves without it, and Output redacts on top. */
export function outcomeRecord(outcome: SourceOutcome): Record<string, unknown> {
  const { source } = outcome.item;
  switch (outcome.type) {
    case 'uploaded': {
      const { ok, ...summary } = outcome.summary;
      return { type: ok ? 'uploaded' : 'failed', ok, source, ...summary, size: summary.bytes };
    }
    case 'skipped': {
      const { entry } = outcome;
      return {
        type: 'skipped',
        ok: true,
        source,
        reason: 'in the manifest, unchanged',
        size: entry.size,
        mediaUploadId: entry.mediaUploadId,
        mediaId: entry.mediaId,
        sha256: entry.sha256,
      };
    }
    case 'failed':
      return {
        type: 'failed',
        ok: false,
        source,
        error: { ...describeError(outcome.error), ...(outcome.mediaUploadId === undefined ? {} : { mediaUploadId: outcome.mediaUploadId }) },
      };
    case 'cancelled':
      return {
        type: 'cancelled',
        ok: false,
        source,
        error: { ...describeError(cancellation(outcome.mediaUploadId, outcome.resumable, outcome.stage)), ...(outcome.mediaUploadId === undefined ? {} : { mediaUploadId: outcome.mediaUploadId }) },
      };
  }
}

/** The human line of a source that made it (stdout); failures are told by `problemLine` (stderr). */
export function outcomeLine(outcome: Extract<SourceOutcome, { type: 'uploaded' | 'skipped' }>): string {
  const { source } = outcome.item;
  if (outcome.type === 'skipped') {
    return `skipped   ${source}  ${formatBytes(outcome.entry.size)}  already uploaded (manifest: mediaUploadId ${outcome.entry.mediaUploadId})`;
  }
  const s = outcome.summary;
  const media = s.mediaId === null ? 'no media id' : `media ${String(s.mediaId)}${s.mediaType ? ` (${s.mediaType})` : ''}`;
  const check = s.sha256Match === undefined ? '' : s.sha256Match ? '  sha256 ok' : '  sha256 MISMATCH';
  const limited = s.rateLimit.waitedMs > 0 || s.rateLimit.refusals > 0 ? `  rate limited: ${rateLimitText(s.rateLimit)}` : '';
  return `uploaded  ${source}  ${formatBytes(s.bytes)} in ${formatSeconds(s.elapsedMs)}  ${media}  ${s.mediaUploadId}${check}${limited}`;
}

/** The stderr line of a source that did not make it. */
export function problemLine(outcome: SourceOutcome): string | undefined {
  const { source } = outcome.item;
  switch (outcome.type) {
    case 'uploaded':
      return outcome.summary.ok ? undefined : `ofauth-upload: failed ${source}: the emulator stored different bytes (sha256 ${outcome.summary.storedSha256}, sent ${outcome.summary.sha256})`;
    case 'failed': {
      const e = describeError(outcome.error);
      const left = outcome.mediaUploadId === undefined ? '' : ` (mediaUploadId ${outcome.mediaUploadId} left unfinished)`;
      return `ofauth-upload: failed ${source}: ${e.code}: ${e.message}${left}`.replace(/\s*\n\s*/g, ' ');
    }
    case 'cancelled': {
      if (outcome.mediaUploadId !== undefined) return `ofauth-upload: cancelled ${source}: mediaUploadId ${outcome.mediaUploadId} left unfinished`;
      const stage = outcome.stage === 'opening' ? ' while it was being opened: nothing was uploaded' : outcome.stage === 'buffering' ? ' while it was being buffered: nothing was uploaded' : '';
      return `ofauth-upload: cancelled ${source}${stage}`;
    }
    case 'skipped':
      return undefined;
  }
}

export function totalsRecord(t: BatchTotals): Record<string, unknown> {
  return {
    type: 'summary',
    ok: !t.interrupted && t.failed === 0,
    sources: t.sources,
    uploaded: t.uploaded,
    skipped: t.skipped,
    failed: t.failed,
    cancelled: t.cancelled,
    notStarted: t.notStarted,
    interrupted: t.interrupted,
    bytes: t.bytes,
    elapsedMs: Math.round(t.elapsedMs),
    mibPerSecond: Math.round(mibPerSecond(t.bytes, t.elapsedMs) * 10) / 10,
    rateLimit: t.rateLimit,
  };
}

export function totalsLine(t: BatchTotals): string {
  const counts = [`${t.uploaded} uploaded`, `${t.skipped} skipped`, `${t.failed} failed`];
  if (t.interrupted) counts.push(`${t.cancelled} cancelled`, `${t.notStarted} not started`);
  const head = t.interrupted ? 'Interrupted (Ctrl-C)' : t.failed > 0 ? 'Done, with failures' : 'Done';
  const limited =
    t.rateLimit.waitedMs > 0 || t.rateLimit.refusals > 0 ? `; rate limited: uploads ${rateLimitText(t.rateLimit)} in all` : '';
  return `${head}: ${t.sources} source${t.sources === 1 ? '' : 's'}, ${counts.join(', ')}; ${formatBytes(t.bytes)} in ${formatSeconds(t.elapsedMs)} (${mibPerSecond(t.bytes, t.elapsedMs).toFixed(1)} MiB/s)${limited}`;
}
