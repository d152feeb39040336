import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

export type SpoolFailure = 'limit' | 'disk';

/**
 * Spooling a source of unknown size failed before any session was opened: the source is larger
 * than `spool.maxBytes`, or the disk refused the spool file (ENOSPC, EACCES, a missing dir…).
 */
export class SpoolError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('SpoolError');
  static {
    brandPrototype(this);
  }

  readonly reason: SpoolFailure;
  /** `spool.maxBytes`, when the source outgrew it. */
  readonly limit?: number;
  /** The system error code (ENOSPC, EACCES, ENOENT…), when the disk refused. */
  readonly systemCode?: string;

  constructor(details: { reason: 'limit'; limit: number } | { reason: 'disk'; systemCode: string; cause: unknown }) {
    super(
      details.reason === 'limit'
        ? `The source is larger than spool.maxBytes (${details.limit} bytes); nothing was uploaded`
        : `The spool file could not be written (${details.systemCode}); nothing was uploaded. Set spool.dir to a writable folder with room, or pass the exact size to stream without spooling`,
      'ERR_OFAUTH_SPOOL',
      details.reason === 'disk' ? { cause: details.cause } : {},
    );
    setErrorName(this, 'SpoolError');
    this.reason = details.reason;
    if (details.reason === 'limit') this.limit = details.limit;
    else this.systemCode = details.systemCode;
  }
}
