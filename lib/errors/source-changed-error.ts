import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/** What a file looked like, as `fstat` tells it: its size and its mtime in nanoseconds. */
export interface FileIdentity {
  size: number;
  /** `mtimeNs` as a decimal string (nanoseconds: a bigint does not survive JSON). */
  mtimeNs: string;
}

/**
 * What a remote object (an HTTP download, an S3 object, a user's `RangeSource`) looked like: its
 * size and its version, e.g. `etag:"abc"` or `last-modified:Tue, 08 Dec 2026 03:00:00 GMT`.
 */
export interface RemoteIdentity {
  size: number;
  version: string;
}

/**
 * The source changed while it was uploaded (a file's size or mtime differ from when it was opened,
 * or it ended early; a download's or object's validator or size changed): parts already sent may
 * hold the old bytes, so the upload is never finalized.
 */
export class SourceChangedError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('SourceChangedError');
  static {
    brandPrototype(this);
  }

  /** The file's path, or the URL (without its query) or `s3://bucket/key` of a remote source. */
  readonly path: string;
  /** As the source was opened. */
  readonly expected: FileIdentity | RemoteIdentity;
  /** As it is now (undefined when it could not be told, e.g. it ended early while reading). */
  readonly actual?: FileIdentity | RemoteIdentity;

  /** `how`: what changed, when the identities cannot say it (a 412, an object gone). */
  constructor(
    path: string,
    expected: FileIdentity | RemoteIdentity,
    actual?: FileIdentity | RemoteIdentity,
    options: { cause?: unknown; how?: string } = {},
  ) {
    super(
      `${path} changed while it was uploaded (${options.how ?? describeChange(expected, actual)}); nothing was finalized. Upload it again once it is complete`,
      'ERR_OFAUTH_SOURCE_CHANGED',
      options,
    );
    setErrorName(this, 'SourceChangedError');
    this.path = path;
    this.expected = expected;
    if (actual !== undefined) this.actual = actual;
  }
}

function describeChange(expected: FileIdentity | RemoteIdentity, actual: FileIdentity | RemoteIdentity | undefined): string {
  if (actual === undefined) return 'it ended early while being read';
  if (actual.size !== expected.size) return `its size went from ${expected.size} to ${actual.size} bytes`;
  if ('version' in expected && 'version' in actual) return `its version went from ${expected.version} to ${actual.version}`;
  return 'its modification time changed';
}
