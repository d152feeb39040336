import { createHash } from 'node:crypto';
import { fail, ok } from './answer';
import { checkApiAuth } from './auth';
import { consumeBody } from './body';
import { declaredLength } from './content-length';
import type { Handler } from './context';

/** Single-part-and-finalize: the whole file in one PUT, hashed as it streams, never buffered (unless keepBytes). */
export const handleSingle: Handler = async (ctx) => {
  const { options, store } = ctx.state;
  const denied = checkApiAuth(ctx.req.headers, options.apiKey, options.connectionId);
  if (denied) return denied;
  const id = ctx.match.mediaUploadId;
  const session = id === undefined ? undefined : store.get(id);
  if (!session) return fail(404, 'upload session not found');
  if (!session.finalized && session.isExpired()) return fail(410, 'upload session expired');
  if (!session.finalized && session.hasAcceptedParts) {
    return fail(409, 'parts were already uploaded to this session; finish it with complete');
  }
  const length = declaredLength(ctx.req, session.size, 'the session');
  if (length) return length;

  const sha256 = options.hashing === 'none' ? undefined : createHash('sha256');
  const chunks: Buffer[] | undefined = options.keepBytes ? [] : undefined;
  let received = 0;
  const outcome = await consumeBody(
    ctx.req,
    (chunk) => {
      received += chunk.length;
      sha256?.update(chunk);
      chunks?.push(chunk);
    },
    ctx.body,
  );
  if (outcome !== 'complete' || received !== session.size) return undefined;
  const digest = sha256?.digest('hex');
  // A retry after a lost answer re-sends the same file: answer the same media; other bytes conflict.
  if (session.finalized && digest !== undefined && session.finalized.sha256 !== digest) {
    return fail(409, 'upload session already finalized with different bytes');
  }
  const finalized = session.finalizeWhole(digest, chunks && Buffer.concat(chunks), () => store.makeMedia(session));
  return ok({ mediaUploadId: session.id, media: finalized.media });
};
