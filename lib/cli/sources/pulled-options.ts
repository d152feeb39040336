import type { UploadFileOptions } from '../../options';
import type { StreamContext } from './stream-to-vault';

/**
 * The options of a pulled upload (a file in place, a download or object read by range) from the
 * batch's connection, tuning, pool, signal and resume settings, its callbacks told to the output.
 */
export function pulledUploadOptions(ctx: StreamContext, filename: string, contentType: string): UploadFileOptions {
  const { tuning } = ctx;
  return {
    ...ctx.connection,
    filename,
    contentType,
    ...(tuning.concurrency === undefined ? {} : { concurrency: tuning.concurrency }),
    ...(tuning.retries === undefined ? {} : { retries: tuning.retries }),
    ...(tuning.vaultUserId === undefined ? {} : { vaultUpload: { userId: tuning.vaultUserId } }),
    dispatcher: ctx.dispatcher,
    signal: ctx.signal,
    resume: ctx.resume,
    onResume: (info) => ctx.events.resumed(info),
    onSession: (session) => ctx.events.session(session.mediaUploadId),
    onProgress: (progress) => ctx.events.progress(progress),
    onRateLimit: (event) => ctx.events.rateLimited(event),
  };
}
