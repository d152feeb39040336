import { extname } from 'node:path';

/**
 * Content types of the media the vault takes, by lower-case extension: what the `mime` package
 * (bundled into the CLI) answers for each, kept here so the library's runtime dependencies stay
 * undici + zod. test/media-types.test.ts checks every entry against `mime`.
 */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  // images
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jpe: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  heic: 'image/heic',
  heif: 'image/heif',
  jxl: 'image/jxl',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  // video
  mp4: 'video/mp4',
  m4v: 'video/x-m4v',
  mov: 'video/quicktime',
  qt: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  avi: 'video/x-msvideo',
  wmv: 'video/x-ms-wmv',
  flv: 'video/x-flv',
  mpeg: 'video/mpeg',
  mpg: 'video/mpeg',
  '3gp': 'video/3gpp',
  '3g2': 'video/3gpp2',
  ts: 'video/mp2t',
  mts: 'video/mp2t',
  m2ts: 'video/mp2t',
  ogv: 'video/ogg',
  // audio
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  flac: 'audio/x-flac',
  weba: 'audio/webm',
  wma: 'audio/x-ms-wma',
  amr: 'audio/amr',
  aif: 'audio/x-aiff',
  aiff: 'audio/x-aiff',
  caf: 'audio/x-caf',
};

export const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

/** The content type of `filename` from its extension, else application/octet-stream. */
export function contentTypeFor(filename: string): string {
  const extension = extname(filename).slice(1).toLowerCase();
  return (Object.hasOwn(BY_EXTENSION, extension) ? BY_EXTENSION[extension] : undefined) ?? FALLBACK_CONTENT_TYPE;
}

/** The extensions the table knows (for the test that holds it to `mime`). */
export function knownExtensions(): string[] {
  return Object.keys(BY_EXTENSION);
}
