import { brandFor, brandPrototype, setErrorName } from './brand';
import { OFAuthUploadError } from './ofauth-upload-error';

export interface RateLimitErrorDetails {
  method: string;
  /** Request path without query string. */
  path: string;
  /** How long the request waited for the connection's rate limit before giving up, in ms. */
  waitedMs: number;
  /** Times the server refused it with 429 meanwhile. */
  refusals: number;
  /** The `rateLimitMaxWait` it exceeded, in ms. */
  maxWaitMs: number;
}

/**
 * One request waited longer than `rateLimitMaxWait` for its connection's rate limit (the pacer
 * held it, or the server kept answering 429). Waiting is not a failure while it stays within
 * that bound: this is raised only past it.
 */
export class RateLimitError extends OFAuthUploadError {
  static override readonly brand: symbol = brandFor('RateLimitError');
  static {
    brandPrototype(this);
  }

  readonly method: string;
  readonly path: string;
  readonly waitedMs: number;
  readonly refusals: number;
  readonly maxWaitMs: number;

  constructor(details: RateLimitErrorDetails) {
    super(
      `${details.method} ${details.path} waited ${Math.round(details.waitedMs / 1000)} s for the connection's rate limit (${details.refusals} refusal(s)), past rateLimitMaxWait (${Math.round(details.maxWaitMs / 1000)} s)`,
      'ERR_OFAUTH_RATE_LIMITED',
    );
    setErrorName(this, 'RateLimitError');
    this.method = details.method;
    this.path = details.path;
    this.waitedMs = details.waitedMs;
    this.refusals = details.refusals;
    this.maxWaitMs = details.maxWaitMs;
  }
}
