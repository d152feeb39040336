import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

export interface OFAuthApiErrorDetails {
  status: number;
  method: string;
  /** Request path without query string: a presigned URL's query is a credential. */
  path: string;
  /** Start of the response body, with secrets redacted. */
  bodyExcerpt: string;
  /** How many times the request was sent. */
  attempts: number;
  cause?: unknown;
}

/** The server answered with an HTTP status we could not accept (after any retries). */
export class OFAuthApiError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('OFAuthApiError');
  static {
    brandPrototype(this);
  }

  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly bodyExcerpt: string;
  readonly attempts: number;

  constructor(details: OFAuthApiErrorDetails, message?: string, code = 'ERR_OFAUTH_API') {
    const excerpt = details.bodyExcerpt ? `: ${details.bodyExcerpt}` : '';
    super(
      message ?? `${details.method} ${details.path} answered HTTP ${details.status}${excerpt}`,
      code,
      { cause: details.cause },
    );
    setErrorName(this, 'OFAuthApiError');
    this.status = details.status;
    this.method = details.method;
    this.path = details.path;
    this.bodyExcerpt = details.bodyExcerpt;
    this.attempts = details.attempts;
  }
}
