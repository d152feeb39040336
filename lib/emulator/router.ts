import type { RouteName } from './types';

export type ServerKind = 'api' | 'foreign';

export interface RouteMatch {
  route: RouteName;
  /** Path as received, without the query string. */
  path: string;
  query: URLSearchParams;
  mediaUploadId?: string;
  /** Set for 'part' when the path segment is a valid part number. */
  partNumber?: number;
}

const API_PREFIX = '/v2/access/uploads/';
const PART_PATH = /^([^/]+)\/parts\/([^/]+)$/;
const PART_NUMBER = /^[1-9][0-9]{0,8}$/;

export function classify(server: ServerKind, method: string, rawUrl: string): RouteMatch {
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : rawUrl.slice(queryAt + 1));
  const unknown: RouteMatch = { route: 'unknown', path, query };

  if (server === 'foreign') {
    if (method !== 'PUT' || !path.startsWith('/upload/')) return unknown;
    return matchPart(path.slice('/upload/'.length), path, query) ?? unknown;
  }
  if (!path.startsWith(API_PREFIX)) return unknown;
  const rest = path.slice(API_PREFIX.length);
  if (method === 'POST') {
    if (rest === 'init' || rest === 'complete' || rest === 'check') return { route: rest, path, query };
    return unknown;
  }
  if (method !== 'PUT') return unknown;
  const part = matchPart(rest, path, query);
  if (part) return part;
  if (rest.length === 0 || rest.includes('/')) return unknown;
  const mediaUploadId = decode(rest);
  return mediaUploadId === undefined ? unknown : { route: 'single', path, query, mediaUploadId };
}

function matchPart(rest: string, path: string, query: URLSearchParams): RouteMatch | undefined {
  const found = PART_PATH.exec(rest);
  if (!found) return undefined;
  const mediaUploadId = decode(found[1] ?? '');
  if (mediaUploadId === undefined) return undefined;
  const rawNumber = found[2] ?? '';
  const match: RouteMatch = { route: 'part', path, query, mediaUploadId };
  if (PART_NUMBER.test(rawNumber)) match.partNumber = Number(rawNumber);
  return match;
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
