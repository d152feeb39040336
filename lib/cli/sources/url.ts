import type { Dispatcher } from 'undici';
import { EmptySourceError, SourceReadError } from '../../errors';
import { type HttpReadSettings, type UrlOpening, openUrl } from '../../sources/http-range-source';
import { SourceError } from '../source-error';
import { chooseContentType } from './content-type';
import { uploadRanged } from './ranged';
import type { SourceItem } from './source-item';
import { type StreamContext, type StreamResult, streamToVault } from './stream-to-vault';

export type UrlItem = Extract<SourceItem, { kind: 'url' }>;

/** Redirects followed before the answer counts as the source's failure. */
export const MAX_REDIRECTS = 5;

export interface UrlOverrides {
  filename?: string | undefined;
  contentType?: string | undefined;
  userAgent: string;
}

/** The library's refusal of a download, as the CLI names a source's failure. */
function sourceFailure(item: UrlItem, error: unknown): SourceError | undefined {
  if (error instanceof EmptySourceError) {
    return new SourceError(`GET ${item.source} answered an empty body: the vault takes no empty files`, { reason: 'empty', source: item.source, cause: error });
  }
  if (!(error instanceof SourceReadError)) return undefined;
  if (error.status !== undefined) {
    const redirected = error.status >= 300 && error.status < 400 ? ` (a redirect; at most ${MAX_REDIRECTS} are followed)` : '';
    return new SourceError(`GET ${item.source} answered HTTP ${error.status}${redirected}`, { reason: 'status', source: item.source, status: error.status, cause: error });
  }
  if (/-encoded body/.test(error.message)) {
    const encoding = /a (\S+)-encoded body/.exec(error.message)?.[1] ?? 'an';
    return new SourceError(`GET ${item.source} sent a ${encoding}-encoded body although identity was asked: those bytes are not the file`, { reason: 'encoded', source: item.source, cause: error });
  }
  const why = error.message.replace(/^.*failed(?: after \d+ attempts)?: /, '');
  return new SourceError(`GET ${item.source} failed: ${why}`, { reason: 'network', source: item.source, cause: error });
}

/**
 * Uploads what a URL serves. Its first GET asks for byte 0 only: a server that answers ranges
 * with a strong validator is read part by part, by range (cut reads read again, resumable like
 * a file); any other is streamed from that answer (and spooled without Content-Length). Named
 * by Content-Disposition, else by the last path segment of the URL that answered. Only
 * `accept-encoding: identity` and a user agent are sent: never the OFAuth key, which belongs to
 * the API alone.
 */
export async function uploadUrl(item: UrlItem, downloads: Dispatcher, ctx: StreamContext, overrides: UrlOverrides): Promise<StreamResult> {
  const settings: HttpReadSettings = {
    dispatcher: downloads,
    headers: { 'user-agent': overrides.userAgent },
    retries: 10,
    timeout: 60_000,
    baseDelay: 200,
    maxDelay: 10_000,
    ranges: true,
  };
  let opening: UrlOpening;
  try {
    opening = await openUrl(item.url, settings, ctx.signal);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw sourceFailure(item, error) ?? error;
  }
  const filename = overrides.filename ?? (opening.kind === 'ranged' ? opening.source.filename : opening.filename);
  const reported = opening.kind === 'ranged' ? opening.source.contentType : opening.contentType;
  const contentType = chooseContentType(filename, reported, overrides.contentType);
  if (opening.kind === 'ranged') {
    try {
      return await uploadRanged(opening.source, filename, contentType, ctx);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      throw sourceFailure(item, error) ?? error;
    }
  }
  const { body, size, version, why } = opening;
  const discard = async (): Promise<void> => {
    body.on('error', () => undefined);
    body.destroy();
  };
  const etag = version?.startsWith('etag:') === true ? version.slice('etag:'.length) : version;
  const result = await streamToVault(
    {
      stream: body,
      size,
      filename,
      contentType,
      ...(etag === undefined ? {} : { identity: { kind: 'etag' as const, etag, ...(size === undefined ? {} : { size }) } }),
      close: discard,
    },
    ctx,
  );
  return result.kind === 'uploaded' ? { ...result, download: { mode: 'stream', bytes: result.bytes, requests: 0, rereads: 0, why } } : result;
}
