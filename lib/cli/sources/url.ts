import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, request } from 'undici';
import { SourceError } from '../source-error';
import { filenameFromContentDisposition, filenameFromUrl } from './content-disposition';
import { chooseContentType } from './content-type';
import type { OpenedSource, SourceItem } from './source-item';

export type UrlItem = Extract<SourceItem, { kind: 'url' }>;

/** Redirects followed before the answer counts as the source's failure. */
export const MAX_REDIRECTS = 5;

/**
 * A URL as output and the manifest name it: no user info, no query string, no fragment (a
 * presigned URL's query is a credential).
 */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface UrlOverrides {
  filename?: string | undefined;
  contentType?: string | undefined;
  userAgent: string;
}

/**
 * GETs the URL on the batch's pool (with redirects followed) and opens its body as the source,
 * named by Content-Disposition, else by the last path segment of the URL that answered.
 * Only `accept-encoding: identity` and a user agent are sent: never the OFAuth key, which
 * belongs to the API alone. The size comes from Content-Length; without it the body is spooled.
 */
export async function openUrl(item: UrlItem, downloads: Dispatcher, signal: AbortSignal, overrides: UrlOverrides): Promise<OpenedSource> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(item.url, {
      method: 'GET',
      dispatcher: downloads,
      headers: { 'accept-encoding': 'identity', 'user-agent': overrides.userAgent },
      signal,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    const code = (error as { code?: unknown }).code;
    const why = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
    throw new SourceError(`GET ${item.source} failed: ${why}`, { reason: 'network', source: item.source, cause: error });
  }
  const { statusCode, headers, body } = response;
  // undici's body reports a destroy as an 'error' (RequestAbortedError): expected here, not a failure.
  const discard = (): void => {
    body.on('error', () => undefined);
    body.destroy();
  };
  const fail = (error: SourceError): never => {
    discard();
    throw error;
  };
  if (statusCode < 200 || statusCode > 299) {
    const redirected = statusCode >= 300 && statusCode < 400 ? ` (a redirect; at most ${MAX_REDIRECTS} are followed)` : '';
    fail(new SourceError(`GET ${item.source} answered HTTP ${statusCode}${redirected}`, { reason: 'status', source: item.source, status: statusCode }));
  }
  const encoding = header(headers, 'content-encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    fail(new SourceError(`GET ${item.source} sent a ${encoding}-encoded body although identity was asked: those bytes are not the file`, { reason: 'encoded', source: item.source }));
  }
  const lengthText = header(headers, 'content-length')?.trim();
  const size = lengthText !== undefined && /^\d+$/.test(lengthText) ? Number(lengthText) : undefined;
  if (size === 0) fail(new SourceError(`GET ${item.source} answered an empty body: the vault takes no empty files`, { reason: 'empty', source: item.source }));
  // After redirects, the URL that answered names the file better than a short link or a
  // /download?id= that led to it.
  const history = (response.context as { history?: unknown } | undefined)?.history;
  const answered = Array.isArray(history) && history.at(-1) instanceof URL ? (history.at(-1) as URL) : item.url;
  const filename =
    overrides.filename ??
    filenameFromContentDisposition(header(headers, 'content-disposition')) ??
    filenameFromUrl(answered) ??
    filenameFromUrl(item.url) ??
    'download';
  const etag = header(headers, 'etag')?.trim();
  return {
    stream: body,
    size,
    filename,
    contentType: chooseContentType(filename, header(headers, 'content-type'), overrides.contentType),
    ...(etag === undefined || etag === '' ? {} : { identity: { kind: 'etag' as const, etag, ...(size === undefined ? {} : { size }) } }),
    close: async () => discard(),
  };
}
