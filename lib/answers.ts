import { z } from 'zod';
import { InvalidResponseError } from './errors';
import type { HttpAnswer } from './http';
import { bodyExcerpt } from './redact';

// Schemas of what the API answers after init. Loose objects: the API may add fields, and the
// `media` object is handed to the caller as the server sent it.

/** @internal Validates `VaultMedia` (test/options-types.test.ts proves the two agree). */
export const mediaSchema = z.looseObject({ id: z.union([z.string().min(1), z.number()]) });

/**
 * The vault's media object, as the API sent it when it finalized the upload: its `id`, and
 * whatever other fields the API includes (passed on unchanged, not checked).
 */
export interface VaultMedia {
  /** The media's vault id, reusable in posts and messages (a non-empty string or a number, as the API sends it). */
  id: string | number;
  /** Any other field of the API's media object, as sent. */
  [field: string]: unknown;
}

const partAnswerSchema = z.looseObject({
  mediaUploadId: z.string().min(1),
  partNumber: z.number().int().positive().optional(),
  etag: z.string().optional(),
  media: mediaSchema.optional(),
});

const finalAnswerSchema = z.looseObject({
  mediaUploadId: z.string().min(1),
  media: mediaSchema,
});

export interface PartAnswer {
  etag?: string;
  media?: VaultMedia;
}

export interface FinalAnswer {
  media: VaultMedia;
  status: number;
}

interface AnswerContext {
  method: string;
  path: string;
  mediaUploadId: string;
  secrets: readonly string[];
}

function invalid(answer: HttpAnswer, ctx: AnswerContext, reason: string): InvalidResponseError {
  return new InvalidResponseError(
    { status: answer.status, method: ctx.method, path: ctx.path, attempts: answer.attempts, bodyExcerpt: bodyExcerpt(answer.text, ctx.secrets) },
    reason,
  );
}

function parseJson(answer: HttpAnswer, ctx: AnswerContext): unknown {
  if (answer.text.trim() === '') throw invalid(answer, ctx, 'empty body, expected JSON');
  try {
    return JSON.parse(answer.text);
  } catch {
    throw invalid(answer, ctx, 'not JSON (truncated, or HTML?)');
  }
}

function validate<T>(schema: z.ZodType<T>, json: unknown, answer: HttpAnswer, ctx: AnswerContext): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw invalid(answer, ctx, first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'unexpected shape');
  }
  return parsed.data;
}

function checkUploadId(id: string, answer: HttpAnswer, ctx: AnswerContext): void {
  if (id !== ctx.mediaUploadId) {
    // The other id is not quoted: whatever a server echoes could carry the API key.
    throw invalid(answer, ctx, 'it names another mediaUploadId than this upload');
  }
}

/**
 * A part PUT's answer. On the API's own origin it must be JSON naming this upload and part.
 * A foreign (presigned storage) URL may answer with an empty or non-JSON body, as S3 does:
 * then the ETag header is all there is.
 */
export function parsePartAnswer(answer: HttpAnswer, ctx: AnswerContext & { partNumber: number; foreign: boolean }): PartAnswer {
  const headerEtag = typeof answer.headers.etag === 'string' ? answer.headers.etag : undefined;
  if (ctx.foreign) {
    let json: unknown;
    try {
      json = answer.text.trim() === '' ? undefined : JSON.parse(answer.text);
    } catch {
      json = undefined;
    }
    const etag = (json as { etag?: unknown } | undefined)?.etag;
    return { etag: typeof etag === 'string' ? etag : headerEtag };
  }
  const body = validate(partAnswerSchema, parseJson(answer, ctx), answer, ctx);
  checkUploadId(body.mediaUploadId, answer, ctx);
  if (body.partNumber !== undefined && body.partNumber !== ctx.partNumber) {
    throw invalid(answer, ctx, `it acknowledges part ${body.partNumber}, not part ${ctx.partNumber}`);
  }
  const etag = body.etag ?? headerEtag;
  return { ...(etag === undefined ? {} : { etag }), ...(body.media === undefined ? {} : { media: body.media }) };
}

/** The answer of complete, or of the single PUT that finalizes: it must carry the media. */
export function parseFinalAnswer(answer: HttpAnswer, ctx: AnswerContext): FinalAnswer {
  const body = validate(finalAnswerSchema, parseJson(answer, ctx), answer, ctx);
  checkUploadId(body.mediaUploadId, answer, ctx);
  return { media: body.media, status: answer.status };
}
