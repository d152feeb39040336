import { brandFor, brandPrototype, setErrorName } from './brand';
import { NetworkError } from './network-error';

/** The server did not answer (headers) or stalled mid-answer (body) within the configured timeout. */
export class TimeoutError extends NetworkError {
  static override readonly brand: symbol = brandFor('TimeoutError');
  static {
    brandPrototype(this);
  }

  constructor(details: { method: string; path: string; attempts: number; reason: string; cause?: unknown }) {
    super(details, 'ERR_OFAUTH_TIMEOUT');
    setErrorName(this, 'TimeoutError');
  }
}
