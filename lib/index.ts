export { OFAuthUploadStream, type OFAuthUploadStreamEvents } from './upload-stream';
export type { SpoolProgress } from './sources/spool';
export { uploadToVault, type UploadSource } from './upload-to-vault';
export { uploadFile } from './upload-file';
export { uploadFromRanges, type RangedUploadResult } from './upload-from-ranges';
export { uploadFromUrl } from './upload-from-url';
export { uploadFromS3 } from './upload-from-s3';
export type { RangedUploadOptions, UrlUploadOptions, S3UploadOptions } from './ranged-options';
export type { RangeSource, DownloadStats } from './sources/range-source';
export type { S3ClientLike, S3ObjectRef } from './sources/s3-range-source';
export {
  CHANNEL_NAMES,
  type RateLimitMessage,
  type RequestTraceContext,
  type ResumeMessage,
  type RetryMessage,
  type SpoolMessage,
  type TracedRequest,
  type UploadTraceContext,
} from './diagnostics/channels';
export {
  type CommonUploadOptions,
  DEFAULT_BASE_URL,
  type OFAuthUploadOptions,
  type ResumeInfo,
  type ResumeOptions,
  type UploadFileOptions,
  type UploadProgress,
  type UploadSpoolOptions,
  type VaultUploadOptions,
} from './options';
export { isPlanless, type UploadSession, type MultipartPlan, type PlanlessSession, type PlanPart, type PlanByteRange } from './plan';
export type { UploadResult, PartReceipt } from './upload-sink';
export type { VaultMedia } from './answers';
export { RatePacer, type RatePacerOptions, type PacerWait, type PacerClock } from './rate/rate-pacer';
export type { RateLimitEvent, RateLimitTotals } from './rate/rate-limit-tracker';
export {
  AbortError,
  EarlyAnswerError,
  EmptySourceError,
  type FileIdentity,
  InvalidOptionsError,
  InvalidResponseError,
  MemoryLimitError,
  NetworkError,
  OFAuthApiError,
  OFAuthUploadError,
  PlanError,
  RateLimitError,
  type RateLimitErrorDetails,
  SizeMismatchError,
  SourceChangedError,
  SourceReadError,
  type SourceReadDetails,
  type RemoteIdentity,
  SpoolError,
  type SpoolFailure,
  TimeoutError,
  UploadExpiredError,
  UploadLockedError,
} from './errors';
