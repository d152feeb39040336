import type { ByteRange, EmulatorMode, InitPlan, UploadType } from './types';

export interface PlanInput {
  mediaUploadId: string;
  size: number;
  mode: EmulatorMode;
  partSize: number;
  /** API base URL (no trailing slash). */
  apiUrl: string;
  expiresAtMs: number;
  /** Where multipart part n is PUT; defaults to the API's managed part endpoint. */
  partUrl?: (mediaUploadId: string, partNumber: number) => string;
}

export type MadePlan =
  | { uploadType: UploadType; ranges: ByteRange[]; plan: InitPlan }
  | { uploadType: 'planless'; ranges: ByteRange[]; plan: undefined };

/** Ranges cut every partSize bytes; `end` inclusive; only the last may be shorter. */
export function partRanges(size: number, partSize: number): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (let start = 0; start < size; start += partSize) {
    ranges.push({ start, end: Math.min(start + partSize, size) - 1 });
  }
  return ranges;
}

export function managedPartUrl(apiUrl: string, mediaUploadId: string, partNumber: number): string {
  return `${apiUrl}/v2/access/uploads/${encodeURIComponent(mediaUploadId)}/parts/${partNumber}`;
}

export function singleUploadUrl(apiUrl: string, mediaUploadId: string): string {
  return `${apiUrl}/v2/access/uploads/${encodeURIComponent(mediaUploadId)}`;
}

export function makePlan(input: PlanInput): MadePlan {
  const { mediaUploadId, size, mode, partSize, apiUrl } = input;
  if (mode === 'planless') return { uploadType: 'planless', ranges: [], plan: undefined };
  const uploadType: UploadType = mode === 'auto' ? (size <= partSize ? 'single' : 'multipart') : mode;
  const expiresAt = new Date(input.expiresAtMs).toISOString();
  const completeUrl = `${apiUrl}/v2/access/uploads/complete`;
  if (uploadType === 'single') {
    const ranges = [{ start: 0, end: size - 1 }];
    const plan: InitPlan = {
      mediaUploadId,
      uploadType,
      totalParts: 1,
      partSize: size,
      expiresAt,
      // A single plan's only part goes to the single-part-and-finalize endpoint.
      parts: [{ partNumber: 1, uploadUrl: singleUploadUrl(apiUrl, mediaUploadId), byteRange: { start: 0, end: size - 1 } }],
      completeUrl,
    };
    return { uploadType, ranges, plan };
  }
  const ranges = partRanges(size, partSize);
  const partUrl = input.partUrl ?? ((id: string, n: number) => managedPartUrl(apiUrl, id, n));
  const plan: InitPlan = {
    mediaUploadId,
    uploadType,
    totalParts: ranges.length,
    partSize,
    expiresAt,
    parts: ranges.map((range, index) => ({
      partNumber: index + 1,
      uploadUrl: partUrl(mediaUploadId, index + 1),
      byteRange: { start: range.start, end: range.end },
    })),
    completeUrl,
  };
  return { uploadType, ranges, plan };
}
