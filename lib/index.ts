export { OFAuthUploadStream, type OFAuthUploadStreamEvents } from './upload-stream';
export type { SpoolProgress } from './sources/spool';
export { uploadToVault, type UploadSource } from './upload-to-vault';
export { uploadFile } from './upload-file';
export { DEFAULT_BASE_URL, type OFAuthUploadOptions, type ResumeInfo, type UploadFileOptions, type UploadProgress } from './options';
export { isPlanless, type UploadSession, type MultipartPlan, type PlanlessSession, type PlanPart } from './plan';
export type { UploadResult, PartReceipt } from './upload-sink';
export type { VaultMedia } from './answers';
export { RatePacer, type RatePacerOptions, type PacerWait } from './rate/rate-pacer';
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
  SpoolError,
  type SpoolFailure,
  TimeoutError,
  UploadExpiredError,
  UploadLockedError,
} from './errors';
