import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { fail, ok } from './answer';
import { malformPlan } from './malformed-plans';
import type { Handler } from './context';
import { readAuthorizedJson } from './json-request';
import { makePlan } from './plan-maker';
import { apiOriginFor, foreignOriginFor, parseHost } from './request-origin';

// The seed OpenAPI schema of init, with `size` tightened to what a byte count can be.
const initBody = z.object({
  filename: z.string().min(1),
  size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  contentType: z.string().min(1),
  vaultUpload: z
    .object({
      mode: z.literal('message').optional(),
      userId: z.string().min(1).nullable().optional(),
    })
    .optional(),
});

export const handleInit: Handler = async (ctx) => {
  const { options, store, signer, urls } = ctx.state;
  const parsed = await readAuthorizedJson(ctx, initBody, 'init');
  if (!parsed.ok) return parsed.answer;
  const { filename, size, contentType } = parsed.value;
  // The plan points back at the origin this request came in on, not at the bound address:
  // 0.0.0.0, localhost and a port mapping all work. dispatch already refused a bad Host.
  const host = parseHost(ctx.req.headers.host);
  if (host === undefined) return fail(400, 'missing or malformed Host header');

  const mediaUploadId = `upload:${randomUUID()}`;
  const expiresAtMs = Date.now() + options.expiresInMs;
  const foreign = urls.foreign === undefined ? undefined : foreignOriginFor(host, urls.foreign);
  const made = makePlan({
    mediaUploadId,
    size,
    mode: options.mode,
    partSize: options.partSize,
    apiUrl: apiOriginFor(host),
    expiresAtMs,
    ...(foreign === undefined
      ? {}
      : { partUrl: (id: string, n: number) => foreign + signer.sign(`/upload/${encodeURIComponent(id)}/parts/${n}`, expiresAtMs) }),
  });
  store.create({
    id: mediaUploadId,
    filename,
    contentType,
    size,
    uploadType: made.uploadType,
    ranges: made.ranges,
    expiresAtMs,
    keepBytes: options.keepBytes,
    hashing: options.hashing,
    meter: ctx.state.recorder,
  });
  ctx.record.mediaUploadId = mediaUploadId;
  if (!made.plan) return ok({ mediaUploadId });
  const plan = made.plan;
  if (options.planTransform) return ok(options.planTransform(plan, { size }));
  return ok(options.malformedPlan ? malformPlan(plan, options.malformedPlan) : plan);
};
