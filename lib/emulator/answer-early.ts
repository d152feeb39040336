import { consumeBody } from './body';
import type { RequestContext } from './context';
import type { FaultAction } from './types';
import { answerUnread } from './unread-answer';

/** What a route answers when all went well: what an early answer pretends. */
function successBody(ctx: RequestContext): string {
  const { route, mediaUploadId, partNumber } = ctx.match;
  if (route === 'part') return JSON.stringify({ mediaUploadId, partNumber, etag: '"early"' });
  if (route === 'single' || route === 'complete') {
    const media = { id: `media:early:${ctx.record.id}`, type: 'video', isReady: false, hasError: false, createdAt: new Date().toISOString() };
    return JSON.stringify({ mediaUploadId, media });
  }
  return JSON.stringify({ ok: true });
}

/**
 * A gateway's answer before the body is read: read `afterBytes` at most, then write a whole
 * answer (with `Connection: close`) straight onto the socket and read nothing more. The client
 * has its answer while it is still sending, and whatever it had not handed to its socket buffers
 * never arrives; it must drop the connection itself (undici does as soon as the answer is
 * complete). Written raw: Node's ServerResponse would then read on, or reset the connection,
 * and a reset may destroy the answer before the client reads it. Nothing is stored.
 */
export async function answerEarly(ctx: RequestContext, action: Extract<FaultAction, { type: 'answerEarly' }>): Promise<void> {
  const afterBytes = action.afterBytes ?? 0;
  if (afterBytes > 0 && (await consumeBody(ctx.req, () => undefined, { ...ctx.body, stopAfter: afterBytes })) === 'aborted') return;
  const text = action.body ?? successBody(ctx);
  const status = action.status ?? 200;
  ctx.record.error ??= 'answered before the body was read';
  answerUnread(ctx, status, text);
}
