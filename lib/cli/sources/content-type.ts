import mime from 'mime';
import { reportedType } from '../../sources/http-range-source';

export const FALLBACK_TYPE = 'application/octet-stream';

/**
 * The MIME type to send at init: the user's --content-type, else what the download or the object
 * says it is (unless that only says "bytes": the library's reportedType), else the name's
 * extension, else octet-stream.
 */
export function chooseContentType(filename: string, reported?: string | undefined, override?: string | undefined): string {
  if (override !== undefined) return override;
  return reportedType(reported) ?? mime.getType(filename) ?? FALLBACK_TYPE;
}
