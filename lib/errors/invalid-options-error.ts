import { brandFor, brandPrototype, hasBrand, setErrorName } from './brand';

/**
 * A wrong option, thrown at construction before any request. It is a `TypeError` (what
 * Node throws for bad arguments) and also an `OFAuthUploadError`, through the brand.
 */
export class InvalidOptionsError extends TypeError {
  static readonly brand: symbol = brandFor('InvalidOptionsError');
  static {
    brandPrototype(this);
    // Also an OFAuthUploadError for `instanceof`, though it cannot inherit from it.
    brandPrototype(this, brandFor('OFAuthUploadError'));
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, this.brand);
  }

  readonly code = 'ERR_OFAUTH_INVALID_OPTIONS';
  readonly issues: readonly string[];

  /** `subject`: whose options they are (`OFAuthUploadStream`, `uploadFile`). */
  constructor(issues: readonly string[], subject = 'OFAuthUploadStream') {
    super(`Invalid ${subject} options: ${issues.join('; ')}`);
    setErrorName(this, 'InvalidOptionsError');
    this.issues = issues;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, issues: this.issues };
  }
}
