import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/** The upload session's `expiresAt` passed before all parts were sent. */
export class UploadExpiredError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('UploadExpiredError');
  static {
    brandPrototype(this);
  }

  readonly expiresAt: string;

  constructor(expiresAt: string, options: { cause?: unknown } = {}) {
    super(`The upload session expired at ${expiresAt}; start a new upload`, 'ERR_OFAUTH_UPLOAD_EXPIRED', options);
    setErrorName(this, 'UploadExpiredError');
    this.expiresAt = expiresAt;
  }
}
