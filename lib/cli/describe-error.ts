import { AbortError, OFAuthUploadError } from '../errors';
import { SourceError } from './source-error';
import { UsageError } from './usage-error';

export type ErrorRecord = { name: string; code: string; message: string } & Record<string, unknown>;

/**
 * A plain, secret-free record of any error the CLI can meet. The package's typed errors describe
 * themselves (toJSON leaves out headers, keys and query strings); anything else is reduced to
 * name, code and message, since a foreign error's other fields were never vetted.
 */
export function describeError(error: unknown): ErrorRecord {
  if (error instanceof OFAuthUploadError && typeof error.toJSON === 'function') {
    const record = error.toJSON();
    return { ...record, name: error.name, code: error.code, message: error.message };
  }
  if (error instanceof SourceError) {
    return { ...error.toJSON(), name: error.name, code: error.code, message: error.message };
  }
  if (error instanceof AbortError || error instanceof UsageError) {
    return { name: error.name, code: error.code, message: error.message };
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { name: error.name, code: typeof code === 'string' ? code : 'ERR_UNEXPECTED', message: error.message };
  }
  return { name: 'Error', code: 'ERR_UNEXPECTED', message: String(error) };
}
