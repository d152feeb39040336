import type { S3Client } from '@aws-sdk/client-s3';
import { type InstallKind, detectInstall } from '../install-location';
import { S3_PACKAGE, type S3Module, type S3RangeSource, isMissingModule, openS3Object, s3FailureOf } from '../../sources/s3-range-source';
import { SourceError } from '../source-error';
import { UsageError } from '../usage-error';

// @aws-sdk/client-s3 is an optional peer dependency: imported only when an s3:// source is given,
// so the package's runtime dependencies stay undici + zod.

/**
 * The SDK, or a one-line usage error naming the package to install, with the command that fits
 * how this CLI was installed: a global install finds only global packages beside it, so there it
 * is `npm install -g`. `importer` and `installedAs` are for tests.
 */
export async function loadS3Module(
  importer: () => Promise<S3Module> = () => import('@aws-sdk/client-s3'),
  installedAs: () => Promise<InstallKind> = detectInstall,
): Promise<S3Module> {
  try {
    return await importer();
  } catch (error) {
    if (isMissingModule(error)) {
      const how = await installedAs().catch((): InstallKind => 'unknown');
      const command =
        how === 'global'
          ? `npm install -g ${S3_PACKAGE} (ofauth-upload is installed globally)`
          : how === 'local'
            ? `npm install ${S3_PACKAGE}`
            : `npm install ${S3_PACKAGE} (npm install -g ${S3_PACKAGE} if ofauth-upload is installed globally)`;
      throw new UsageError(`s3:// sources need the package ${S3_PACKAGE} (an optional peer dependency), which is not installed: ${command}`);
    }
    throw error;
  }
}

export interface S3Object {
  key: string;
  size: number;
  etag?: string;
}

/** The calls the CLI makes of S3. */
export interface S3Access {
  /** Every object under `prefix`, page by page (ListObjectsV2 with its continuation token). */
  list(bucket: string, prefix: string, signal?: AbortSignal): AsyncGenerator<S3Object>;
  /** The object opened for reads by range (HeadObject: its size and ETag, each range IfMatch on it). */
  ranged(bucket: string, key: string, signal: AbortSignal): Promise<S3RangeSource>;
  destroy(): void;
}

/** S3's answer, as a SourceError naming the object (the SDK's own error is the cause). */
export function s3Failure(source: string, action: string, error: unknown): SourceError {
  const { name: s3Code, status, message } = s3FailureOf(error);
  return new SourceError(`${action} ${source} failed: ${s3Code}: ${message}`, {
    reason: 's3',
    source,
    s3Code,
    ...(status === undefined ? {} : { status }),
    cause: error,
  });
}

export interface S3Settings {
  /** An S3-compatible endpoint: addressed path-style, and us-east-1 when no region is configured. */
  endpoint?: string | undefined;
  /** Keys per ListObjectsV2 page (S3's maximum, 1000, unless a test wants pages). */
  pageSize?: number;
}

/**
 * A client on the standard AWS chain (environment, shared config and credentials files, SSO,
 * instance roles). With an endpoint, S3-compatible stores rarely care about the region, so a
 * missing one is not an error there.
 */
export async function connectS3(sdk: S3Module, settings: S3Settings = {}): Promise<S3Access> {
  // On Node < 22 the first client of a process prints the SDK's 9-line NodeVersionSupportWarning
  // (about SDK releases of 2027, not this run), even with --quiet. The SDK's own opt-out, read
  // when a client is made (@aws-sdk/core's emitWarningIfUnsupportedVersion), silences exactly
  // that warning; a value the user set is left as it is.
  if (!process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const base = settings.endpoint === undefined ? { followRegionRedirects: true } : { endpoint: settings.endpoint, forcePathStyle: true };
  let client: S3Client = new sdk.S3Client(base);
  if (settings.endpoint !== undefined) {
    try {
      await client.config.region();
    } catch {
      client.destroy();
      client = new sdk.S3Client({ ...base, region: 'us-east-1' });
    }
  }
  const pageSize = settings.pageSize ?? 1000;
  return {
    async *list(bucket, prefix, signal) {
      let token: string | undefined;
      do {
        const page = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: pageSize, ...(token === undefined ? {} : { ContinuationToken: token }) }),
          signal === undefined ? {} : { abortSignal: signal },
        );
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield { key: object.Key, size: object.Size ?? 0, ...(object.ETag === undefined ? {} : { etag: object.ETag }) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },
    ranged: (bucket, key, signal) => openS3Object({ client, Bucket: bucket, Key: key }, signal, sdk),
    destroy: () => client.destroy(),
  };
}
