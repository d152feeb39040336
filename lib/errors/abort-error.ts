import { brandFor, brandPrototype, hasBrand, setErrorName } from './brand';

/**
 * The upload was cancelled through its `signal`. Named and coded as Node's own AbortError so
 * code that checks `err.name === 'AbortError'` keeps working; the signal's reason is the cause.
 */
export class AbortError extends Error {
  static readonly brand: symbol = brandFor('AbortError');
  static {
    brandPrototype(this);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, this.brand);
  }

  readonly code = 'ABORT_ERR';

  constructor(message = 'The upload was aborted', options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    setErrorName(this, 'AbortError');
  }
}
