import { z } from 'zod';
import { ok } from './answer';
import type { Handler } from './context';
import { readAuthorizedJson } from './json-request';

const checkBody = z.object({
  etag: z.string().min(1),
  size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

/** Does the vault already hold this media? Matched by size and sha256 hex (or the multipart composite etag). */
export const handleCheck: Handler = async (ctx) => {
  const { store } = ctx.state;
  const parsed = await readAuthorizedJson(ctx, checkBody, 'check');
  if (!parsed.ok) return parsed.answer;
  const media = store.findExisting(parsed.value.etag, parsed.value.size);
  return ok(media ? { exists: true, media } : { exists: false });
};
