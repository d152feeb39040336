import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail } from './answer';
import { consumeBody } from './body';
import type { EmulatorState, Handler, RequestContext } from './context';
import { handleCheck } from './handle-check';
import { handleComplete } from './handle-complete';
import { handleInit } from './handle-init';
import { handlePart } from './handle-part';
import { handleSingle } from './handle-single';
import type { RateLimiter } from './rate-limiter';
import { parseHost } from './request-origin';
import { answerEarly } from './answer-early';
import { drainBody, respond, respondRaw } from './respond';
import { answerUnread } from './unread-answer';
import { classify, type ServerKind } from './router';
import type { FaultAction, RouteName } from './types';

const HANDLERS: Record<Exclude<RouteName, 'unknown'>, Handler> = {
  init: handleInit,
  part: handlePart,
  single: handleSingle,
  complete: handleComplete,
  check: handleCheck,
};

/** Entry point of every request on both servers: record it, pick a fault, run the handler, answer. */
export function dispatch(state: EmulatorState, server: ServerKind, req: IncomingMessage, res: ServerResponse): void {
  const match = classify(server, req.method ?? '', req.url ?? '/');
  const record = state.recorder.begin(req, server, match);
  if (match.route === 'part' || match.route === 'single') res.once('close', state.recorder.putStarted());
  res.once('close', () => {
    record.endedAt = Date.now();
  });
  const ctx: RequestContext = { state, server, req, res, match, record, body: { lifecycle: state.lifecycle, record }, headers: {} };
  run(ctx).catch((error: unknown) => {
    record.error = `emulator error: ${error instanceof Error ? error.message : String(error)}`;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    void respond(ctx, fail(500, 'emulator internal error'), undefined).catch(() => res.destroy());
  });
}

async function run(ctx: RequestContext): Promise<void> {
  const { state, match, record } = ctx;
  // Plans are built from the Host header, so a request without a usable one is refused before
  // anything else, as an HTTP server in front of the real API would.
  if (parseHost(ctx.req.headers.host) === undefined) {
    await respond(ctx, fail(400, 'missing or malformed Host header'), undefined);
    return;
  }
  // The limiter stands in front of the API, as OFAuth's gateway does: before faults and handlers.
  if (ctx.server === 'api' && state.limiter !== undefined && limit(ctx, state.limiter) === 'refused') return;
  const contentLength = Number(ctx.req.headers['content-length'] ?? 0);
  const picked = state.faults.pick({
    route: match.route,
    ...(match.partNumber === undefined ? {} : { partNumber: match.partNumber }),
    contentLength: Number.isSafeInteger(contentLength) ? contentLength : 0,
  });
  if (picked) {
    record.fault = picked.label;
    state.recorder.stats.faultsInjected += 1;
  }
  const action = picked?.action;
  if (action && (await preHandle(ctx, action)) === 'answered') return;

  if (match.route === 'unknown') {
    await respond(ctx, fail(404, 'not found'), undefined);
    return;
  }
  const answer = await HANDLERS[match.route](ctx);
  // No answer: the client left mid-body and whatever it sent was dropped.
  if (answer) await respond(ctx, answer, action);
}

/**
 * Takes a token from the request's connection bucket and sets the X-RateLimit-* headers every
 * answer carries. An empty bucket answers 429 at once, without reading the body: whatever the
 * client had not yet handed to its socket never arrives.
 */
function limit(ctx: RequestContext, limiter: RateLimiter): 'allowed' | 'refused' {
  const options = ctx.state.options.rateLimit!;
  const connection = ctx.req.headers['x-connection-id'];
  const decision = limiter.take(typeof connection === 'string' ? connection : '');
  if (options.headers !== 'none') {
    ctx.headers['x-ratelimit-limit'] = String(options.perMinute);
    ctx.headers['x-ratelimit-remaining'] = String(decision.remaining);
    const resetSeconds = options.headers === 'epoch' ? Math.ceil(decision.fullAtMs / 1000) : Math.max(0, Math.ceil((decision.fullAtMs - Date.now()) / 1000));
    ctx.headers['x-ratelimit-reset'] = String(resetSeconds);
  }
  if (decision.allowed) return 'allowed';
  ctx.state.recorder.stats.rateLimited += 1;
  ctx.record.error = 'rate limited';
  const retryAfter: Record<string, string> = options.retryAfter ? { 'retry-after': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) } : {};
  answerUnread(ctx, 429, JSON.stringify({ error: 'Too Many Requests: rate limit exceeded for this connection' }), retryAfter);
  return 'refused';
}

/**
 * Faults that act before the handler. 'answered' means the request is dealt with and the handler
 * must not run, which is how status/reset/hang faults guarantee that nothing gets stored.
 */
async function preHandle(ctx: RequestContext, action: FaultAction): Promise<'answered' | 'continue'> {
  const { lifecycle } = ctx.state;
  switch (action.type) {
    case 'status': {
      const headers: Record<string, string> = {};
      if (action.retryAfter !== undefined) headers['retry-after'] = String(action.retryAfter);
      const text = action.body ?? JSON.stringify({ error: `injected fault: status ${action.status}` });
      const contentType = action.contentType ?? (action.body === undefined ? 'application/json; charset=utf-8' : 'application/json');
      await respondRaw(ctx, { status: action.status, contentType, text, headers });
      return 'answered';
    }
    case 'reset': {
      const afterBytes = action.afterBytes ?? 0;
      if (afterBytes > 0) await consumeBody(ctx.req, () => undefined, { ...ctx.body, stopAfter: afterBytes });
      ctx.record.error ??= 'connection reset by fault';
      ctx.req.socket.destroy();
      return 'answered';
    }
    case 'answerEarly':
      await answerEarly(ctx, action);
      return 'answered';
    case 'hang':
      await drainBody(ctx);
      await lifecycle.whenClosed();
      return 'answered';
    case 'delay':
      return (await lifecycle.sleep(action.ms)) ? 'continue' : 'answered';
    case 'slowRead':
      ctx.body.bytesPerSecond = action.bytesPerSecond;
      return 'continue';
    case 'stallBody':
    case 'body':
    case 'mutate':
      return 'continue';
  }
}
