import type { RateLimitTotals } from '../rate/rate-limit-tracker';
import type { UploadResult } from '../upload-sink';
import { formatBytes, formatSeconds, mibPerSecond } from './units';

export interface UploadSummary {
  ok: boolean;
  target: 'emulator' | 'api';
  baseUrl: string;
  filename: string;
  contentType: string;
  bytes: number;
  elapsedMs: number;
  mibPerSecond: number;
  mediaUploadId: string;
  mediaId: string | number | null;
  mediaType: string | null;
  /** sha256 of the bytes as they streamed through this process. */
  sha256: string;
  /** What the emulator stored (only when the CLI started it and so can ask it). */
  storedSha256?: string;
  sha256Match?: boolean;
  /** How the connection's rate limit held this upload. */
  rateLimit: RateLimitTotals;
}

export type SummaryInput = Pick<UploadSummary, 'target' | 'baseUrl' | 'filename' | 'contentType' | 'bytes' | 'elapsedMs' | 'sha256'> & {
  result: UploadResult;
  storedSha256?: string | undefined;
};

export function summarize(input: SummaryInput): UploadSummary {
  const { result, storedSha256, ...rest } = input;
  const media = result.media;
  const checked = storedSha256 === undefined ? {} : { storedSha256, sha256Match: storedSha256 === input.sha256 };
  return {
    ok: checked.sha256Match ?? true,
    ...rest,
    elapsedMs: Math.round(input.elapsedMs),
    mibPerSecond: Math.round(mibPerSecond(input.bytes, input.elapsedMs) * 10) / 10,
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

export function formatSummary(s: UploadSummary): string {
  const rows: [string, string][] = [
    ['mediaUploadId', s.mediaUploadId],
    ['media id', s.mediaId === null ? '(none in the answer)' : `${String(s.mediaId)}${s.mediaType ? ` (${s.mediaType})` : ''}`],
    ['bytes', `${s.bytes} (${formatBytes(s.bytes)})`],
    ['elapsed', formatSeconds(s.elapsedMs)],
    ['mean rate', `${s.mibPerSecond.toFixed(1)} MiB/s`],
    ['sha256 local', s.sha256],
  ];
  if (s.rateLimit.waitedMs > 0 || s.rateLimit.refusals > 0) rows.push(['rate limited', rateLimitText(s.rateLimit)]);
  if (s.storedSha256 !== undefined) {
    rows.push(['sha256 stored', `${s.storedSha256} (emulator)`]);
    rows.push(['sha256 match', s.sha256Match ? 'yes' : 'NO: the emulator stored different bytes']);
  }
  const head = s.ok ? `Uploaded ${s.filename} (${s.contentType}) to ${s.target === 'emulator' ? 'the embedded emulator' : s.baseUrl}` : `Upload of ${s.filename} FAILED the sha256 check`;
  return `${head}\n${rows.map(([k, v]) => `  ${k.padEnd(15)}${v}`).join('\n')}\n`;
}
