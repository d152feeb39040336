import type { Readable } from 'node:stream';
import { EmptySourceError, OFAuthUploadError, type RemoteIdentity, SourceChangedError, SourceReadError } from '../errors';
import { safeFilename } from './content-disposition';
import { parseContentRange, reportedType } from './http-range-source';
import type { RangeSource } from './range-source';

/** The one method of an S3 client that is used: any `S3Client` of `@aws-sdk/client-s3` v3 fits. */
export interface S3ClientLike {
  send(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/** The object to upload, and the client (with its credentials, region, endpoint) to read it with. */
export interface S3ObjectRef {
  /** The caller's `S3Client`: its credentials, region and endpoint are used as they are. */
  client: S3ClientLike;
  /** The bucket's name. */
  Bucket: string;
  /** The object's key (its filename defaults to the key's last segment). */
  Key: string;
  /** A version of a versioned bucket's object; default: the current one, pinned by its ETag. */
  VersionId?: string | undefined;
}

export type S3Module = typeof import('@aws-sdk/client-s3');

export const S3_PACKAGE = '@aws-sdk/client-s3';

/** The import of a package failed because it is not installed (ESM's or CommonJS's code). */
export function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** The SDK, imported only when an S3 object is read (it is an optional peer dependency). */
export async function importS3(): Promise<S3Module> {
  try {
    return await import('@aws-sdk/client-s3');
  } catch (error) {
    if (isMissingModule(error)) {
      throw new OFAuthUploadError(`S3 sources need the package ${S3_PACKAGE} (an optional peer dependency), which is not installed: npm install ${S3_PACKAGE}`, 'ERR_OFAUTH_MISSING_PEER', { cause: error });
    }
    throw error;
  }
}

/** What an S3 SDK error says: its S3 error name, HTTP status and message. */
export interface S3Failure {
  name: string;
  status: number | undefined;
  message: string;
}

export function s3FailureOf(error: unknown): S3Failure {
  const e = error as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const status = typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' && e.message !== '' && e.message !== 'UnknownError' ? e.message : `HTTP ${status ?? '?'}`;
  return { name, status, message };
}

/** `s3://bucket/key` (with `?versionId=` for a pinned version): how errors and journals name it. */
export function s3Name(ref: Pick<S3ObjectRef, 'Bucket' | 'Key' | 'VersionId'>): string {
  return `s3://${ref.Bucket}/${ref.Key}${ref.VersionId === undefined ? '' : `?versionId=${encodeURIComponent(ref.VersionId)}`}`;
}

/**
 * Opens an S3 object for ranged reads: HeadObject gives its size, ETag and type; every range is
 * then a GetObject with `Range` and `IfMatch` on that ETag, so an object replaced mid-upload fails
 * typed (`SourceChangedError`) instead of mixing two versions.
 */
export async function openS3Object(ref: S3ObjectRef, signal: AbortSignal, sdk?: S3Module): Promise<S3RangeSource> {
  const s3 = sdk ?? (await importS3());
  const name = s3Name(ref);
  let head: { ContentLength?: number; ETag?: string; ContentType?: string; VersionId?: string };
  try {
    head = (await ref.client.send(
      new s3.HeadObjectCommand({ Bucket: ref.Bucket, Key: ref.Key, ...(ref.VersionId === undefined ? {} : { VersionId: ref.VersionId }) }),
      { abortSignal: signal },
    )) as typeof head;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const failure = s3FailureOf(error);
    throw new SourceReadError({
      source: name,
      start: 0,
      end: 0,
      attempts: 1,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      reason: `HeadObject: ${failure.name}: ${failure.message}`,
      cause: error,
    });
  }
  const size = head.ContentLength;
  if (size === 0) throw new EmptySourceError(`${name} is empty; nothing was uploaded (the vault does not take empty files)`);
  if (size === undefined || !Number.isSafeInteger(size) || size < 0 || head.ETag === undefined) {
    throw new SourceReadError({ source: name, start: 0, end: 0, attempts: 1, reason: 'HeadObject answered without ContentLength or ETag' });
  }
  const contentType = reportedType(head.ContentType);
  return new S3RangeSource(ref, s3, {
    size,
    etag: head.ETag,
    filename: safeFilename(ref.Key) ?? 'object',
    ...(contentType === undefined ? {} : { contentType }),
  });
}

interface S3Resource {
  size: number;
  etag: string;
  filename: string;
  contentType?: string;
}

/** An S3 object read by range, each read conditional on the ETag first seen. */
export class S3RangeSource implements RangeSource {
  readonly size: number;
  readonly name: string;
  readonly version: string;
  readonly filename: string;
  readonly contentType?: string;
  readonly etag: string;
  readonly #ref: S3ObjectRef;
  readonly #sdk: S3Module;

  constructor(ref: S3ObjectRef, sdk: S3Module, resource: S3Resource) {
    this.#ref = ref;
    this.#sdk = sdk;
    this.size = resource.size;
    this.etag = resource.etag;
    this.name = s3Name(ref);
    this.version = `etag:${resource.etag}`;
    this.filename = resource.filename;
    if (resource.contentType !== undefined) this.contentType = resource.contentType;
  }

  get #identity(): RemoteIdentity {
    return { size: this.size, version: this.version };
  }

  async readRange(start: number, end: number, signal: AbortSignal): Promise<Readable> {
    const { Bucket, Key, VersionId } = this.#ref;
    let answer: { Body?: unknown; ContentRange?: string; ETag?: string };
    try {
      answer = (await this.#ref.client.send(
        new this.#sdk.GetObjectCommand({ Bucket, Key, ...(VersionId === undefined ? {} : { VersionId }), Range: `bytes=${start}-${end}`, IfMatch: this.etag }),
        { abortSignal: signal },
      )) as typeof answer;
    } catch (error) {
      if (signal.aborted) throw error;
      const failure = s3FailureOf(error);
      if (failure.status === 412 || failure.name === 'PreconditionFailed') {
        throw new SourceChangedError(this.name, this.#identity, undefined, { how: `its ETag is no longer ${this.etag} (412 PreconditionFailed)`, cause: error });
      }
      if (failure.status === 404) throw new SourceChangedError(this.name, this.#identity, undefined, { how: `it is gone (${failure.name})`, cause: error });
      if (failure.status === 416) throw new SourceChangedError(this.name, this.#identity, undefined, { how: `bytes ${start}-${end} are no longer there (${failure.name})`, cause: error });
      if (failure.status !== undefined && failure.status >= 400 && failure.status < 500 && failure.status !== 408 && failure.status !== 429) {
        throw new SourceReadError({ source: this.name, start, end, attempts: 1, status: failure.status, reason: `GetObject: ${failure.name}: ${failure.message}`, cause: error });
      }
      // A 5xx, a throttle, a dropped connection: worth another read.
      throw error;
    }
    const body = answer.Body as Readable | undefined;
    const discard = (): void => {
      body?.on('error', () => undefined);
      body?.destroy();
    };
    const range = parseContentRange(answer.ContentRange);
    if (answer.ETag !== undefined && answer.ETag !== this.etag) {
      discard();
      throw new SourceChangedError(this.name, this.#identity, { size: range?.total ?? this.size, version: `etag:${answer.ETag}` });
    }
    if (range?.total !== undefined && range.total !== this.size) {
      discard();
      throw new SourceChangedError(this.name, this.#identity, { size: range.total, version: this.version });
    }
    if (body === undefined || range === undefined || range.start !== start || range.end !== end) {
      discard();
      throw new SourceReadError({ source: this.name, start, end, attempts: 1, reason: `GetObject answered another range (ContentRange: ${answer.ContentRange ?? 'none'})` });
    }
    return body;
  }
}
