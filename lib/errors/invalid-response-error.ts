import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthApiError, type OFAuthApiErrorDetails } from './ofauth-api-error';

/**
 * A 2xx answer whose body we cannot trust: not JSON, truncated, the wrong shape, or naming
 * another upload or part. Never retried: the server claims success, so sending again could
 * only hide the inconsistency.
 */
export class InvalidResponseError extends OFAuthApiError {
  static override readonly brand: symbol = brandFor('InvalidResponseError');
  static {
    brandPrototype(this);
  }

  readonly reason: string;

  constructor(details: OFAuthApiErrorDetails, reason: string, code = 'ERR_OFAUTH_INVALID_RESPONSE') {
    super(details, `${details.method} ${details.path} answered HTTP ${details.status} with an invalid body: ${reason}`, code);
    setErrorName(this, 'InvalidResponseError');
    this.reason = reason;
  }
}
