import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Dispatcher, getGlobalDispatcher, interceptors } from 'undici';
import { defaultDispatcher } from './http';
import { InvalidOptionsError, OFAuthUploadError, SourceReadError } from './errors';
import { contentTypeFor } from './media-types';
import type { OFAuthUploadOptions } from './options';
import { withUploadSignal } from './pulled-upload';
import { type ResolvedUrlOptions, type UrlUploadOptions, resolveUrlOptions } from './ranged-options';
import { type HttpReadSettings, displayUrl, openUrl } from './sources/http-range-source';
import { type RangedUploadResult, uploadRangeSource } from './upload-from-ranges';
import { OFAuthUploadStream } from './upload-stream';

/** Redirects a download follows (with the default dispatcher) before its answer counts as a failure. */
export const MAX_DOWNLOAD_REDIRECTS = 5;

function parseUrl(url: string | URL): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    const shown = parsed === undefined ? 'not a URL' : `a ${parsed.protocol} URL`;
    throw new InvalidOptionsError([`url: expected an http(s) URL (got ${shown})`], 'uploadFromUrl');
  }
  return parsed;
}

/**
 * Uploads what a URL serves and resolves once the vault has it. When the server answers byte
 * ranges with a strong validator (ETag or Last-Modified), each part is fetched by its range,
 * up to `concurrency` at once, conditional on that version (`If-Range` + `If-Match`): a cut
 * costs only the bytes it did not deliver, a file that changes mid-upload fails with
 * `SourceChangedError`, and with `resume` a crashed upload continues with the missing parts.
 * Otherwise the download is read once, front to back, and spooled when it has no length;
 * `result.download.mode` says which. Only `options.headers` go to the download's host: never
 * the API key.
 */
export async function uploadFromUrl(url: string | URL, options: UrlUploadOptions): Promise<RangedUploadResult> {
  const resolved = resolveUrlOptions(options);
  const target = parseUrl(url);
  const dispatcher = resolved.downloadDispatcher ?? downloadsDefault();
  const settings: HttpReadSettings = {
    dispatcher,
    headers: resolved.headers ?? {},
    retries: resolved.rangeRetries,
    timeout: resolved.rangeTimeout,
    baseDelay: resolved.retryBaseDelay,
    maxDelay: resolved.retryMaxDelay,
    ranges: resolved.ranges,
  };
  return withUploadSignal(resolved.signal, async (signal) => {
    const opening = await openUrl(target, settings, signal);
    if (opening.kind === 'ranged') return uploadRangeSource(opening.source, { ...resolved, signal }, 'uploadFromUrl');
    const filename = resolved.filename ?? opening.filename;
    const streamed: OFAuthUploadOptions = {
      ...streamOptions(resolved),
      filename,
      contentType: resolved.contentType ?? opening.contentType ?? contentTypeFor(filename),
      ...(opening.size === undefined ? {} : { size: opening.size }),
      signal,
    };
    return streamDownload(displayUrl(target), opening.body, opening.size, opening.why, streamed, resolved.onSession);
  });
}

/**
 * undici's global dispatcher when the caller set one with this undici (a ProxyAgent, a
 * MockAgent: downloads then go where the caller's own requests go), else the package's own
 * pool; with redirects followed. Node's fetch installs its bundled undici in the global slot on
 * first use, whose handler API differs from this one's (Node 22: UND_ERR_INVALID_ARG), so only a
 * dispatcher of this undici is taken from there.
 */
function downloadsDefault(): Dispatcher {
  const global = getGlobalDispatcher();
  const base = global instanceof Dispatcher ? global : defaultDispatcher();
  return base.compose(interceptors.redirect({ maxRedirections: MAX_DOWNLOAD_REDIRECTS }));
}

/** The stream's options out of a URL upload's (those the stream has no use for left out). */
function streamOptions(resolved: ResolvedUrlOptions): Omit<OFAuthUploadOptions, 'filename' | 'contentType'> {
  const {
    filename: _filename,
    contentType: _contentType,
    resume: _resume,
    onResume: _onResume,
    onSession: _onSession,
    rangeRetries: _rangeRetries,
    rangeTimeout: _rangeTimeout,
    headers: _headers,
    downloadDispatcher: _downloadDispatcher,
    ranges: _ranges,
    signal: _signal,
    ...shared
  } = resolved;
  return shared;
}

/** The download read once, front to back, through an OFAuthUploadStream (spooled without a length). */
async function streamDownload(
  name: string,
  body: Readable,
  size: number | undefined,
  why: string,
  options: OFAuthUploadOptions,
  onSession: ResolvedUrlOptions['onSession'],
): Promise<RangedUploadResult> {
  let bytes = 0;
  body.on('data', (chunk: Buffer) => (bytes += chunk.length));
  // Which side failed first: a failing upload destroys the body too, and only a body that
  // failed first is the download's fault.
  let first: 'download' | 'upload' | undefined;
  body.once('error', () => (first ??= 'download'));
  const upload = new OFAuthUploadStream(options);
  upload.once('error', () => (first ??= 'upload'));
  if (onSession !== undefined) upload.on('session', onSession);
  try {
    await pipeline(body, upload);
  } catch (error) {
    if (first !== 'download' || options.signal?.aborted === true) throw error;
    throw new SourceReadError({ source: name, start: bytes, end: size === undefined ? bytes : size - 1, attempts: 1, reason: `the download failed after ${bytes} bytes (${error instanceof Error ? error.message : String(error)})`, cause: error });
  }
  const result = upload.result;
  if (result === undefined) throw new OFAuthUploadError('The upload ended without a result', 'ERR_OFAUTH_INTERNAL');
  return { ...result, download: { mode: 'stream', bytes, requests: 0, rereads: 0, why } };
}
