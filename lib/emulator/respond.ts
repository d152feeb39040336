import { consumeBody } from './body';
import type { Answer } from './answer';
import type { RequestContext } from './context';
import type { FaultAction } from './types';

/**
 * Past this many unread body bytes an early answer is sent with `Connection: close` instead of
 * reading on: draining keeps the connection reusable and the client's write clean, but not at
 * any price.
 */
const DRAIN_CAP = 64 * 1024 * 1024;

const JSON_TYPE = 'application/json; charset=utf-8';

export interface RawAnswer {
  status: number;
  contentType: string;
  text: string;
  headers: Record<string, string>;
}

/** Reads what is left of the body so the client finishes writing before it reads our answer. */
export async function drainBody(ctx: RequestContext): Promise<'drained' | 'gone' | 'capped'> {
  if (ctx.req.readableEnded) return 'drained';
  const outcome = await consumeBody(ctx.req, () => undefined, { ...ctx.body, stopAfter: DRAIN_CAP });
  if (outcome === 'aborted') return 'gone';
  return outcome === 'stopped' ? 'capped' : 'drained';
}

/** Drain, wait the configured latency; false when there is no one left to answer. */
async function ready(ctx: RequestContext): Promise<boolean> {
  const drained = await drainBody(ctx);
  if (drained === 'gone') return false;
  const { lifecycle, options } = ctx.state;
  if (options.latencyMs > 0 && !(await lifecycle.sleep(options.latencyMs))) return false;
  if (lifecycle.closed || ctx.res.destroyed || ctx.res.headersSent) return false;
  if (drained === 'capped') ctx.res.shouldKeepAlive = false;
  return true;
}

/** Writes a handler's answer, rewritten by a post-processing fault (body, mutate, stallBody) if any. */
export async function respond(ctx: RequestContext, answer: Answer, fault: FaultAction | undefined): Promise<void> {
  if (!(await ready(ctx))) return;
  if (fault?.type === 'body') {
    // Replaces the answer entirely (headers too), so a client cannot fall back on an ETag header.
    write(ctx, { status: fault.status ?? 200, contentType: fault.contentType ?? 'application/json', text: fault.body, headers: {} });
    return;
  }
  const body = fault?.type === 'mutate' ? fault.fn(answer.body as Record<string, unknown>) : answer.body;
  const raw: RawAnswer = {
    status: answer.status,
    contentType: JSON_TYPE,
    text: body === undefined ? '' : JSON.stringify(body),
    headers: answer.headers ?? {},
  };
  if (fault?.type === 'stallBody') stall(ctx, raw);
  else write(ctx, raw);
}

/** Writes a literal answer (status faults). */
export async function respondRaw(ctx: RequestContext, raw: RawAnswer): Promise<void> {
  if (await ready(ctx)) write(ctx, raw);
}

function write(ctx: RequestContext, raw: RawAnswer): void {
  ctx.record.status = raw.status;
  ctx.res.writeHead(raw.status, {
    ...ctx.headers,
    ...raw.headers,
    'content-type': raw.contentType,
    'content-length': String(Buffer.byteLength(raw.text)),
  });
  ctx.res.end(raw.text);
}

/** Headers and half the promised bytes, then silence: the client has a status but never a whole body. */
function stall(ctx: RequestContext, raw: RawAnswer): void {
  const bytes = Buffer.from(raw.text);
  ctx.record.status = raw.status;
  ctx.res.writeHead(raw.status, { ...ctx.headers, ...raw.headers, 'content-type': raw.contentType, 'content-length': String(bytes.length) });
  ctx.res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
}
