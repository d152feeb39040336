import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/** The source produced more or fewer bytes than the declared `size`. */
export class SizeMismatchError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('SizeMismatchError');
  static {
    brandPrototype(this);
  }

  readonly expected: number;
  /** Bytes seen when the mismatch was detected (for an overrun: at least this many). */
  readonly received: number;

  constructor(expected: number, received: number) {
    const what = received > expected ? 'more' : 'fewer';
    super(
      `The source produced ${what} bytes than declared: expected exactly ${expected}, got ${received > expected ? 'at least ' : ''}${received}`,
      'ERR_OFAUTH_SIZE_MISMATCH',
    );
    setErrorName(this, 'SizeMismatchError');
    this.expected = expected;
    this.received = received;
  }
}
