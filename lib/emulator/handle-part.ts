import { fail, ok, type Answer } from './answer';
import { carriesApiCredentials, checkApiAuth } from './auth';
import { consumeBody } from './body';
import type { Handler, RequestContext } from './context';
import { declaredLength } from './content-length';

/** Origin-specific gate: API auth on the API origin, signature and no credentials on the foreign one. */
function admit(ctx: RequestContext): Answer | undefined {
  const { options, recorder, signer } = ctx.state;
  if (ctx.server === 'api') return checkApiAuth(ctx.req.headers, options.apiKey, options.connectionId);
  if (carriesApiCredentials(ctx.req.headers)) {
    recorder.stats.authViolations += 1;
    return fail(400, 'credential headers (apiKey, x-connection-id) must not be sent to a presigned upload URL');
  }
  if (!signer.verify(ctx.match.path, ctx.match.query)) return fail(403, 'signature does not match');
  return undefined;
}

export const handlePart: Handler = async (ctx) => {
  const denied = admit(ctx);
  if (denied) return denied;
  const { mediaUploadId, partNumber } = ctx.match;
  const session = mediaUploadId === undefined ? undefined : ctx.state.store.get(mediaUploadId);
  if (!session) return fail(404, 'upload session not found');
  const expected = partNumber === undefined ? undefined : session.partLength(partNumber);
  if (partNumber === undefined || expected === undefined) {
    return fail(400, `unknown part number for this session (it has ${session.totalParts} part(s))`);
  }
  if (session.isExpired()) return fail(410, 'upload session expired');
  if (session.finalized && !session.isAccepted(partNumber)) return fail(409, 'upload session already finalized');
  const length = declaredLength(ctx.req, expected, `part ${partNumber}`);
  if (length) return length;
  if (session.mustRefusePart(partNumber)) {
    // Bounded memory: an earlier part is missing and enough later ones are held already. 503 with
    // Retry-After is what clients retry; by then the gap may have closed.
    return {
      ...fail(503, `too many parts held while an earlier part is missing (at most ${ctx.state.options.maxHeldParts}); retry later`),
      headers: { 'retry-after': '1' },
    };
  }

  const sink = session.openPart(partNumber);
  // The sink's gate pauses this body while the part is too far ahead of the next one to hash.
  const outcome = await consumeBody(ctx.req, (chunk) => sink.write(chunk), { ...ctx.body, gate: sink.gate });
  if (outcome !== 'complete' || sink.bytes !== expected) {
    session.discardPart(sink);
    return undefined;
  }
  const commit = session.commitPart(sink);
  if (commit.kind === 'conflict') {
    return fail(409, `part ${partNumber} was already uploaded with different bytes`, { etag: commit.acceptedEtag });
  }
  return ok({ mediaUploadId: session.id, partNumber, etag: commit.etag }, { etag: commit.etag });
};
