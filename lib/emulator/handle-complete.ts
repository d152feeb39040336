import { z } from 'zod';
import { fail, ok } from './answer';
import { checkApiAuth } from './auth';
import { readJson } from './body';
import type { Handler } from './context';
import { describeIssues } from './schema-error';

const completeBody = z.object({ mediaUploadId: z.string().min(1) });

/** Finalize from the parts. Idempotent: a finalized session answers its media again. */
export const handleComplete: Handler = async (ctx) => {
  const { options, store } = ctx.state;
  const denied = checkApiAuth(ctx.req.headers, options.apiKey, options.connectionId);
  if (denied) return denied;
  const body = await readJson(ctx.req, ctx.body);
  if (!body.ok) return body.answer;
  const parsed = completeBody.safeParse(body.value);
  if (!parsed.success) return fail(400, `invalid complete body: ${describeIssues(parsed.error)}`);
  const session = store.get(parsed.data.mediaUploadId);
  ctx.record.mediaUploadId = parsed.data.mediaUploadId;
  if (!session) return fail(404, 'upload session not found');
  if (session.finalized) return ok({ mediaUploadId: session.id, media: session.finalized.media });
  if (session.isExpired()) return fail(410, 'upload session expired');
  if (session.uploadType === 'planless') {
    return fail(409, 'nothing uploaded yet: PUT the whole file to the single-part endpoint, which finalizes by itself');
  }
  const missingParts = session.missingParts();
  if (missingParts.length > 0) {
    return fail(409, `not all parts were uploaded; missing parts: ${missingParts.join(', ')}`, { missingParts });
  }
  const finalized = session.finalizeFromParts(() => store.makeMedia(session));
  return ok({ mediaUploadId: session.id, media: finalized.media });
};
