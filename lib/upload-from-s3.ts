import { InvalidOptionsError } from './errors';
import { withUploadSignal } from './pulled-upload';
import { type S3UploadOptions, resolveRangedOptions } from './ranged-options';
import { type S3ObjectRef, openS3Object } from './sources/s3-range-source';
import { type RangedUploadResult, uploadRangeSource } from './upload-from-ranges';

function checkRef(ref: S3ObjectRef): void {
  const problems: string[] = [];
  if (typeof ref !== 'object' || ref === null) throw new InvalidOptionsError(['expected { client, Bucket, Key, VersionId? }'], 'uploadFromS3');
  if (typeof ref.client?.send !== 'function') problems.push('client: expected an S3Client of @aws-sdk/client-s3');
  if (typeof ref.Bucket !== 'string' || ref.Bucket === '') problems.push('Bucket: expected a non-empty string');
  if (typeof ref.Key !== 'string' || ref.Key === '') problems.push('Key: expected a non-empty string');
  if (ref.VersionId !== undefined && (typeof ref.VersionId !== 'string' || ref.VersionId === '')) problems.push('VersionId: expected a non-empty string');
  if (problems.length > 0) throw new InvalidOptionsError(problems, 'uploadFromS3');
}

/**
 * Uploads an S3 object with the caller's `S3Client` and resolves once the vault has it: its
 * size and ETag from HeadObject, then each part fetched by `Range`, up to `concurrency` at once,
 * with `IfMatch` on that ETag — a cut costs only the bytes it did not deliver, an object replaced
 * mid-upload fails with `SourceChangedError`, and with `resume` a crashed upload continues with
 * the missing parts. `@aws-sdk/client-s3` is an optional peer dependency, imported only here.
 */
export async function uploadFromS3(ref: S3ObjectRef, options: S3UploadOptions): Promise<RangedUploadResult> {
  const resolved = resolveRangedOptions(options, 'uploadFromS3');
  checkRef(ref);
  return withUploadSignal(resolved.signal, async (signal) => {
    const source = await openS3Object(ref, signal);
    return uploadRangeSource(source, { ...resolved, signal }, 'uploadFromS3');
  });
}
