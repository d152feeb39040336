import { z } from 'zod';
import { fail, ok } from './answer';
import { checkApiAuth } from './auth';
import { readJson } from './body';
import type { Handler } from './context';
import { describeIssues } from './schema-error';

const checkBody = z.object({
  etag: z.string().min(1),
  size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

/** Does the vault already hold this media? Matched by size and sha256 hex (or the multipart composite etag). */
export const handleCheck: Handler = async (ctx) => {
  const { options, store } = ctx.state;
  const denied = checkApiAuth(ctx.req.headers, options.apiKey, options.connectionId);
  if (denied) return denied;
  const body = await readJson(ctx.req, ctx.body);
  if (!body.ok) return body.answer;
  const parsed = checkBody.safeParse(body.value);
  if (!parsed.success) return fail(400, `invalid check body: ${describeIssues(parsed.error)}`);
  const media = store.findExisting(parsed.data.etag, parsed.data.size);
  return ok(media ? { exists: true, media } : { exists: false });
};
