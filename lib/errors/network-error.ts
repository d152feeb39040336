import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/** The request never got a usable answer (connection refused or reset, timeout) after its retries. */
export class NetworkError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('NetworkError');
  static {
    brandPrototype(this);
  }

  readonly method: string;
  readonly path: string;
  readonly attempts: number;

  constructor(
    details: { method: string; path: string; attempts: number; reason: string; cause?: unknown },
    code = 'ERR_OFAUTH_NETWORK',
  ) {
    super(
      `${details.method} ${details.path} failed after ${details.attempts} attempt${details.attempts === 1 ? '' : 's'}: ${details.reason}`,
      code,
      { cause: details.cause },
    );
    setErrorName(this, 'NetworkError');
    this.method = details.method;
    this.path = details.path;
    this.attempts = details.attempts;
  }
}
