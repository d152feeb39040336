import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { fail, type Answer } from './answer';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** API-origin auth: 401 for the key, 403 for the connection. Messages never echo what was sent. */
export function checkApiAuth(headers: IncomingHttpHeaders, apiKey: string, connectionId: string | undefined): Answer | undefined {
  const key = header(headers, 'apikey');
  if (key === undefined || !sameSecret(key, apiKey)) return fail(401, 'missing or invalid apiKey header');
  const connection = header(headers, 'x-connection-id');
  if (connection === undefined || connection.trim().length === 0) return fail(403, 'missing x-connection-id header');
  if (connectionId !== undefined && connection !== connectionId) return fail(403, 'connection not found or not authorized for this key');
  return undefined;
}

/** A presigned URL is its own credential; credentials sent to another origin are a leak. */
export function carriesApiCredentials(headers: IncomingHttpHeaders): boolean {
  return headers['apikey'] !== undefined || headers['x-connection-id'] !== undefined;
}
