import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

export interface SourceReadDetails {
  /** The source as it may be shown: a URL without its query string, `s3://bucket/key`, a name. */
  source: string;
  /** The byte range that could not be read, inclusive. */
  start: number;
  end: number;
  /** Reads of this range tried (1 when the failure could not be retried). */
  attempts: number;
  /** The source's HTTP status, when it answered one. */
  status?: number;
  /** Why, in a few words (a status, an error code, "timed out"). */
  reason: string;
  cause?: unknown;
}

/**
 * A ranged source (an HTTP download, an S3 object, a `RangeSource`) could not give a byte range:
 * it refused it (403, 404…), or every read of it within the range retry budget failed (cut,
 * timed out, 5xx). Parts already acknowledged stay in the vault: with `resume`, the same call
 * later sends only the missing ones.
 */
export class SourceReadError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('SourceReadError');
  static {
    brandPrototype(this);
  }

  readonly source: string;
  readonly start: number;
  readonly end: number;
  readonly attempts: number;
  readonly status?: number;

  constructor(details: SourceReadDetails) {
    const tries = details.attempts === 1 ? '' : ` after ${details.attempts} attempts`;
    super(`Reading bytes ${details.start}-${details.end} of ${details.source} failed${tries}: ${details.reason}`, 'ERR_OFAUTH_SOURCE_READ', {
      cause: details.cause,
    });
    setErrorName(this, 'SourceReadError');
    this.source = details.source;
    this.start = details.start;
    this.end = details.end;
    this.attempts = details.attempts;
    if (details.status !== undefined) this.status = details.status;
  }
}
