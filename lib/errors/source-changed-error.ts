import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/** What a file looked like, as `fstat` tells it: its size and its mtime in nanoseconds. */
export interface FileIdentity {
  size: number;
  /** `mtimeNs` as a decimal string (nanoseconds: a bigint does not survive JSON). */
  mtimeNs: string;
}

/**
 * The file changed while it was uploaded (its size or mtime differ from when it was opened, or it
 * ended early): parts already sent may hold the old bytes, so the upload is never finalized.
 */
export class SourceChangedError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('SourceChangedError');
  static {
    brandPrototype(this);
  }

  readonly path: string;
  /** As the file was opened. */
  readonly expected: FileIdentity;
  /** As it is now (undefined when it could not be told, e.g. it ended early while reading). */
  readonly actual?: FileIdentity;

  constructor(path: string, expected: FileIdentity, actual?: FileIdentity, options: { cause?: unknown } = {}) {
    const now =
      actual === undefined
        ? 'it ended early while being read'
        : actual.size !== expected.size
          ? `its size went from ${expected.size} to ${actual.size} bytes`
          : 'its modification time changed';
    super(`${path} changed while it was uploaded (${now}); nothing was finalized. Upload it again once it is complete`, 'ERR_OFAUTH_SOURCE_CHANGED', options);
    setErrorName(this, 'SourceChangedError');
    this.path = path;
    this.expected = expected;
    if (actual !== undefined) this.actual = actual;
  }
}
