import type { ResumeInfo } from '../options';

const RESTART_REASONS: Record<NonNullable<ResumeInfo['reason']>, string> = {
  expired: 'its session expires in less than a minute',
  gone: 'the server no longer knows it',
  planless: 'a plan-less upload has no parts to skip',
  changed: 'the source changed since',
};

/** The line a rerun prints when it found the journal of an interrupted upload of the same file. */
export function resumeNotice(info: ResumeInfo): string {
  if (!info.restarted) return `resuming ${info.mediaUploadId}: ${info.partsDone} of ${info.totalParts} parts already in the vault`;
  const why = info.reason === undefined ? 'it cannot be resumed' : RESTART_REASONS[info.reason];
  return `could not resume ${info.previousMediaUploadId ?? 'the interrupted upload'} (${why}): starting over as ${info.mediaUploadId}`;
}
