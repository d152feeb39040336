import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/** The init answer is malformed or inconsistent; raised before any byte is sent. */
export class PlanError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('PlanError');
  static {
    brandPrototype(this);
  }

  readonly issues: readonly string[];

  constructor(issues: readonly string[], options: { cause?: unknown } = {}) {
    const shown = issues.slice(0, 5).join('; ');
    const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
    super(`The upload plan from init is unusable: ${shown}${more}`, 'ERR_OFAUTH_PLAN', options);
    setErrorName(this, 'PlanError');
    this.issues = issues;
  }
}
