import { brandFor, brandPrototype, hasBrand, setErrorName } from './brand';

export interface OFAuthUploadErrorOptions {
  cause?: unknown;
}

/**
 * Base of every error this package raises, except `AbortError` (which keeps Node's
 * meaning: the caller asked to stop). `code` is stable and safe to switch on.
 */
export class OFAuthUploadError extends Error {
  static readonly brand: symbol = brandFor('OFAuthUploadError');
  static {
    brandPrototype(this);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, this.brand);
  }

  readonly code: string;

  constructor(message: string, code = 'ERR_OFAUTH_UPLOAD', options: OFAuthUploadErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    setErrorName(this, 'OFAuthUploadError');
    this.code = code;
  }

  /** A plain, secret-free description (what the CLI prints with --json). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (key !== 'code' && value !== undefined) out[key] = value;
    }
    return out;
  }
}
