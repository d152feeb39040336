import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/** A source of unknown size ended without a byte, or a file is empty: the API cannot store an empty file. */
export class EmptySourceError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('EmptySourceError');
  static {
    brandPrototype(this);
  }

  constructor(message = 'The source ended without a byte; nothing was uploaded (the vault does not take empty files)') {
    super(message, 'ERR_OFAUTH_EMPTY_SOURCE');
    setErrorName(this, 'EmptySourceError');
  }
}
