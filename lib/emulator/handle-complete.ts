import { z } from 'zod';
import { fail, ok } from './answer';
import type { Handler } from './context';
import { readAuthorizedJson } from './json-request';

const completeBody = z.object({ mediaUploadId: z.string().min(1) });

/** Finalize from the parts. Idempotent: a finalized session answers its media again. */
export const handleComplete: Handler = async (ctx) => {
  const { store } = ctx.state;
  const parsed = await readAuthorizedJson(ctx, completeBody, 'complete');
  if (!parsed.ok) return parsed.answer;
  const session = store.get(parsed.value.mediaUploadId);
  ctx.record.mediaUploadId = parsed.value.mediaUploadId;
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
