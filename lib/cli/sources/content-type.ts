import mime from 'mime';

export const FALLBACK_TYPE = 'application/octet-stream';

// Types that only say "bytes": S3's default for objects stored without one, and a server's
// for anything it does not know. The file's extension says more.
const GENERIC = new Set(['application/octet-stream', 'binary/octet-stream', 'application/unknown', 'application/x-download', 'application/force-download']);

/**
 * The MIME type to send at init: the user's --content-type, else what the download or the object
 * says it is (unless that only says "bytes"), else the name's extension, else octet-stream.
 */
export function chooseContentType(filename: string, reported?: string | undefined, override?: string | undefined): string {
  if (override !== undefined) return override;
  // Parameters (charset…) describe text, not media: the vault wants the bare type.
  const bare = reported?.split(';')[0]?.trim().toLowerCase();
  if (bare !== undefined && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(bare) && !GENERIC.has(bare)) return bare;
  return mime.getType(filename) ?? FALLBACK_TYPE;
}
