import type { z } from 'zod';
import { zodIssues } from '../zod-issues';
import { type Answer, fail } from './answer';
import { checkApiAuth } from './auth';
import { readJson } from './body';
import type { RequestContext } from './context';

export type JsonRequest<T> = { ok: true; value: T } | { ok: false; answer: Answer | undefined };

/**
 * The common start of every JSON route (init, complete, check): credentials, a JSON body, and
 * the route's schema — each refused the way the real API would.
 */
export async function readAuthorizedJson<T>(ctx: RequestContext, schema: z.ZodType<T>, what: string): Promise<JsonRequest<T>> {
  const { options } = ctx.state;
  const denied = checkApiAuth(ctx.req.headers, options.apiKey, options.connectionId);
  if (denied) return { ok: false, answer: denied };
  const body = await readJson(ctx.req, ctx.body);
  if (!body.ok) return body;
  const parsed = schema.safeParse(body.value);
  if (!parsed.success) return { ok: false, answer: fail(400, `invalid ${what} body: ${zodIssues(parsed.error, '(body)').join('; ')}`) };
  // What the route understood (unknown fields dropped), so tests can check what a client sent.
  ctx.record.body = ctx.state.recorder.redactJson(parsed.data);
  return { ok: true, value: parsed.data };
}
