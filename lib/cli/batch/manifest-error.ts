/** The upload finished, but its line could not be added to the manifest (a full disk…): a re-run would send it again. */
export class ManifestError extends Error {
  readonly code = 'ERR_MANIFEST';
  readonly mediaUploadId: string;

  constructor(path: string, mediaUploadId: string, cause: unknown) {
    const why = (cause as { code?: unknown }).code ?? (cause instanceof Error ? cause.message : String(cause));
    super(`uploaded (mediaUploadId ${mediaUploadId}) but not recorded in the manifest ${JSON.stringify(path)}: ${String(why)}`, { cause });
    this.name = 'ManifestError';
    this.mediaUploadId = mediaUploadId;
  }
}
