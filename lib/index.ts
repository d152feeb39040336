export { OFAuthUploadStream, type OFAuthUploadStreamEvents } from './upload-stream';
export { uploadToVault, type UploadSource } from './upload-to-vault';
export { DEFAULT_BASE_URL, type OFAuthUploadOptions, type UploadProgress } from './options';
export { isPlanless, type UploadSession, type MultipartPlan, type PlanlessSession, type PlanPart } from './plan';
export type { UploadResult, PartReceipt } from './upload-sink';
export type { VaultMedia } from './answers';
export {
  AbortError,
  InvalidOptionsError,
  InvalidResponseError,
  NetworkError,
  OFAuthApiError,
  OFAuthUploadError,
  PlanError,
  SizeMismatchError,
  TimeoutError,
  UploadExpiredError,
} from './errors';
