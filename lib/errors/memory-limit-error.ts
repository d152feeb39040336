import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

/**
 * The plan's parts do not fit `maxBufferMemory`: even one part buffer would exceed it. Raised
 * after init answered and before any byte is sent, so the server can never make us allocate
 * more than the caller allowed.
 */
export class MemoryLimitError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('MemoryLimitError');
  static {
    brandPrototype(this);
  }

  /** The `maxBufferMemory` in force, in bytes. */
  readonly limit: number;
  /** Bytes one part buffer would need. */
  readonly required: number;

  constructor(limit: number, required: number) {
    super(
      `A part of this upload's plan needs a ${required}-byte buffer, more than maxBufferMemory (${limit} bytes): ` +
        'raise maxBufferMemory, or upload from a file or with size omitted (spooled), which read parts again instead of holding them',
      'ERR_OFAUTH_MEMORY_LIMIT',
    );
    setErrorName(this, 'MemoryLimitError');
    this.limit = limit;
    this.required = required;
  }
}
