import { AbortError, OFAuthApiError, OFAuthUploadError } from '../errors';
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
    const hint = error instanceof OFAuthApiError ? credentialsHint(error) : undefined;
    return { ...record, name: error.name, code: error.code, message: hint === undefined ? error.message : `${error.message} (${hint})` };
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

/**
 * The CLI takes its credentials from the environment, so a 401 or 403 from the API itself (init,
 * complete, a plan-less PUT: paths under /v2/access/, which carry the key) names the variables to
 * check. A part's presigned URL carries no key: its 403 is about the URL, and gets no hint.
 */
function credentialsHint(error: OFAuthApiError): string | undefined {
  if (!error.path.includes('/v2/access/')) return undefined;
  if (error.status === 401) return 'the API did not accept the API key: check OFAUTH_API_KEY, and OFAUTH_CONNECTION_ID';
  if (error.status === 403) {
    return 'the API key may not upload to this connection: check OFAUTH_CONNECTION_ID, and that OFAUTH_API_KEY is the key of the account it belongs to';
  }
  return undefined;
}
