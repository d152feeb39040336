import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/** A source of unknown size ended without a byte: the API cannot store an empty file. */
export class EmptySourceError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('EmptySourceError');
  static {
    brandPrototype(this);
  }

  constructor() {
    super('The source ended without a byte; nothing was uploaded (the vault does not take empty files)', 'ERR_OFAUTH_EMPTY_SOURCE');
    setErrorName(this, 'EmptySourceError');
  }
}
