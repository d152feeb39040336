/**
 * Why a source could not be read, as opposed to why the upload failed (those are the library's
 * typed errors): the download answered 404, sent a gzip body, an S3 call failed, a file went away.
 * - 'status': the HTTP answer was not 2xx (`status` says which; redirects were followed first)
 * - 'encoded': the body came content-encoded although identity was asked: its bytes are not the file
 * - 'network': no answer (connection refused, DNS, timeout)
 * - 's3': an S3 call failed (`status` when S3 answered; `s3Code` is S3's own error name)
 * - 'unreadable': a local file could not be opened
 * - 'read': the source failed while it streamed (a download cut off, a read error)
 * - 'empty': the source has no bytes, and the vault takes no empty files
 */
export type SourceFailure = 'status' | 'encoded' | 'network' | 's3' | 'unreadable' | 'read' | 'empty';

export interface SourceErrorDetails {
  reason: SourceFailure;
  /** The source as the output names it (a URL without its query string). */
  source: string;
  status?: number;
  s3Code?: string;
  cause?: unknown;
}

export class SourceError extends Error {
  readonly code = 'ERR_SOURCE';
  readonly reason: SourceFailure;
  readonly source: string;
  readonly status?: number;
  readonly s3Code?: string;

  constructor(message: string, details: SourceErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SourceError';
    this.reason = details.reason;
    this.source = details.source;
    if (details.status !== undefined) this.status = details.status;
    if (details.s3Code !== undefined) this.s3Code = details.s3Code;
  }

  /** What --json prints: the cause is left out (a foreign error's fields were never vetted). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      reason: this.reason,
      source: this.source,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.s3Code === undefined ? {} : { s3Code: this.s3Code }),
    };
  }
}
