import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/**
 * Another process (still running) is uploading the same file with resume: two must not share one
 * session. Raised at once, before any request; the lock file is named so a stale one can be found.
 */
export class UploadLockedError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('UploadLockedError');
  static {
    brandPrototype(this);
  }

  /** The lock file beside the journal. */
  readonly lockPath: string;
  /** The process holding it, as the lock file says. */
  readonly pid: number;

  constructor(lockPath: string, pid: number, host: string) {
    super(
      `Another process (pid ${pid} on ${host}) is uploading this file with resume; it holds ${lockPath}. ` +
        'Wait for it to finish, or delete that file if no such process is running',
      'ERR_OFAUTH_UPLOAD_LOCKED',
    );
    setErrorName(this, 'UploadLockedError');
    this.lockPath = lockPath;
    this.pid = pid;
  }
}
