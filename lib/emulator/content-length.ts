import type { IncomingMessage } from 'node:http';
import { fail, type Answer } from './answer';

/**
 * Byte uploads must declare their exact length up front, as presigned storage does: chunked bodies
 * get 411, a length other than the expected one gets 400 (before any byte is stored).
 */
export function declaredLength(req: IncomingMessage, expected: number, what: string): Answer | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return fail(411, 'Content-Length header required (chunked uploads are not accepted)');
  if (!/^\d+$/.test(raw)) return fail(400, 'invalid Content-Length header');
  const length = Number(raw);
  if (length !== expected) return fail(400, `Content-Length ${length} does not match the ${expected} bytes of ${what}`);
  return undefined;
}
