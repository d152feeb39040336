import { STATUS_CODES } from 'node:http';
import type { RequestContext } from './context';

/**
 * Writes a whole answer (closing the connection) straight onto the socket, reading no more of the
 * request: the client has it while it may still be sending. Node's ServerResponse would read on,
 * or reset the connection, and a reset may destroy the answer before the client reads it.
 */
export function answerUnread(ctx: RequestContext, status: number, text: string, headers: Record<string, string> = {}): void {
  const socket = ctx.req.socket;
  if (socket.destroyed || ctx.res.headersSent) return;
  ctx.record.status = status;
  ctx.req.pause();
  const all = { ...ctx.headers, ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), connection: 'close' };
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`, ...Object.entries(all).map(([name, value]) => `${name}: ${value}`)];
  socket.write(`${head.join('\r\n')}\r\n\r\n${text}`);
}
