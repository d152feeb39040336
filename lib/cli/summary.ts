import type { RateLimitTotals } from '../rate/rate-limit-tracker';
import type { DownloadStats } from '../sources/range-source';
import type { UploadResult } from '../upload-sink';
import { formatBytes, formatSeconds, mibPerSecond } from './units';

export interface UploadSummary {
  ok: boolean;
  target: 'emulator' | 'api';
  baseUrl: string;
  filename: string;
  contentType: string;
  bytes: number;
  /**
   * Only when it is fewer than `bytes` (a resumed upload): the bytes this run sent. The parts an
   * earlier run left in the vault were not sent again, and are not this run's rate.
   */
  bytesSent?: number;
  elapsedMs: number;
  /** Of the bytes this run sent. */
  mibPerSecond: number;
  mediaUploadId: string;
  mediaId: string | number | null;
  mediaType: string | null;
  /**
   * sha256 of the bytes as they streamed through this process; absent when not all of them did
   * (a resumed download or S3 object reads only the parts the vault lacks).
   */
  sha256?: string | undefined;
  /** What the emulator stored (only when the CLI started it and so can ask it). */
  storedSha256?: string;
  sha256Match?: boolean;
  /** How the connection's rate limit held this upload. */
  rateLimit: RateLimitTotals;
  /** For a download or an S3 object: read by range or once, and the bytes it took. */
  download?: DownloadStats | undefined;
}

export type SummaryInput = Pick<UploadSummary, 'target' | 'baseUrl' | 'filename' | 'contentType' | 'bytes' | 'elapsedMs' | 'sha256' | 'download'> & {
  result: UploadResult;
  storedSha256?: string | undefined;
  /** Bytes an earlier run had already put in the vault (a resumed upload's `bytesDone`). */
  alreadyInVault?: number | undefined;
};

export function summarize(input: SummaryInput): UploadSummary {
  const { result, storedSha256, alreadyInVault = 0, ...rest } = input;
  const media = result.media;
  const sent = Math.max(0, input.bytes - alreadyInVault);
  // Without a local sha256 there is nothing to compare: the parts' own checks stand.
  const checked = storedSha256 === undefined || input.sha256 === undefined ? {} : { storedSha256, sha256Match: storedSha256 === input.sha256 };
  return {
    ok: checked.sha256Match ?? true,
    ...rest,
    ...(sent < input.bytes ? { bytesSent: sent } : {}),
    elapsedMs: Math.round(input.elapsedMs),
    mibPerSecond: Math.round(mibPerSecond(sent, input.elapsedMs) * 10) / 10,
    mediaUploadId: result.mediaUploadId,
    mediaId: media?.id ?? null,
    mediaType: typeof media?.type === 'string' ? media.type : null,
    rateLimit: result.rateLimit,
    ...checked,
  };
}

/** `waited 12.3 s (2 refusals)`: what the connection's rate limit cost. */
export function rateLimitText(totals: RateLimitTotals): string {
  const refusals = totals.refusals === 0 ? '' : ` (${totals.refusals} refusal${totals.refusals === 1 ? '' : 's'})`;
  return `waited ${formatSeconds(totals.waitedMs)}${refusals}`;
}

/** `by range: 33 requests (1 read again), 256.0 MiB downloaded`, or why it was read once. */
export function downloadText(download: DownloadStats): string {
  if (download.mode === 'stream') return `once, front to back (${download.why ?? 'no ranges'}), ${formatBytes(download.bytes)} downloaded`;
  const again = download.rereads === 0 ? '' : ` (${download.rereads} read again)`;
  return `by range: ${download.requests} request${download.requests === 1 ? '' : 's'}${again}, ${formatBytes(download.bytes)} downloaded`;
}

export function formatSummary(s: UploadSummary): string {
  const rows: [string, string][] = [
    ['mediaUploadId', s.mediaUploadId],
    ['media id', s.mediaId === null ? '(none in the answer)' : `${String(s.mediaId)}${s.mediaType ? ` (${s.mediaType})` : ''}`],
    ['bytes', `${s.bytes} (${formatBytes(s.bytes)})`],
    ...(s.bytesSent === undefined ? [] : [['sent', `${formatBytes(s.bytesSent)} by this run; ${formatBytes(s.bytes - s.bytesSent)} were already in the vault`] as [string, string]]),
    ['elapsed', formatSeconds(s.elapsedMs)],
    ['mean rate', `${s.mibPerSecond.toFixed(1)} MiB/s`],
    ['sha256 local', s.sha256 ?? '(not computed: some parts were sent by an earlier run)'],
  ];
  if (s.download !== undefined) rows.push(['read', downloadText(s.download)]);
  if (s.rateLimit.waitedMs > 0 || s.rateLimit.refusals > 0) rows.push(['rate limited', rateLimitText(s.rateLimit)]);
  if (s.storedSha256 !== undefined) {
    rows.push(['sha256 stored', `${s.storedSha256} (emulator)`]);
    rows.push(['sha256 match', s.sha256Match ? 'yes' : 'NO: the emulator stored different bytes']);
  }
  const head = s.ok ? `Uploaded ${s.filename} (${s.contentType}) to ${s.target === 'emulator' ? 'the embedded emulator' : s.baseUrl}` : `Upload of ${s.filename} FAILED the sha256 check`;
  return `${head}\n${rows.map(([k, v]) => `  ${k.padEnd(15)}${v}`).join('\n')}\n`;
}
