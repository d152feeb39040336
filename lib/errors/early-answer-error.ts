import { brandFor, brandPrototype, setErrorName } from './brand';
import { InvalidResponseError } from './invalid-response-error';
import type { OFAuthApiErrorDetails } from './ofauth-api-error';

export interface EarlyAnswerDetails extends OFAuthApiErrorDetails {
  /** Bytes of the body handed to the connection when the answer came. */
  bytesSent: number;
  /** Bytes the body was to have (its Content-Length). */
  bodyLength: number;
  /** The media id the answer claimed, if it named one (only trustworthy as a lead to check). */
  mediaId?: string | number | undefined;
}

/**
 * A server (or a gateway in front of it) answered 2xx before the whole request body had been
 * handed to the connection: it cannot hold the bytes it claims to. A part is sent again (this is
 * thrown only after the last retry); a finalizing request (the single PUT, a single plan's one
 * part) cannot be undone, so it fails with this at once, naming the media the server claimed.
 */
export class EarlyAnswerError extends InvalidResponseError {
  static override readonly brand: symbol = brandFor('EarlyAnswerError');
  static {
    brandPrototype(this);
  }

  readonly bytesSent: number;
  readonly bodyLength: number;
  readonly mediaId?: string | number;

  constructor(details: EarlyAnswerDetails) {
    const claimed = details.mediaId === undefined ? '' : ` It claimed media ${String(details.mediaId)}: check it in the vault before using it.`;
    super(details, `it answered after ${details.bytesSent} of ${details.bodyLength} bytes, before the body was complete.${claimed}`, 'ERR_OFAUTH_EARLY_ANSWER');
    setErrorName(this, 'EarlyAnswerError');
    this.bytesSent = details.bytesSent;
    this.bodyLength = details.bodyLength;
    if (details.mediaId !== undefined) this.mediaId = details.mediaId;
  }
}
