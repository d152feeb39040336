import { setMaxListeners } from 'node:events';
import type { SinkResult, UploadSink } from './upload-sink';

/** What one session's worth of an upload is run with. */
export interface SessionAttempt {
  /** This session's own signal: a child of the upload's, aborted when this session fails. */
  signal: AbortSignal;
  /** Fails this session (its requests and reads stop); the upload may go on with a new one. */
  fail: (error: unknown) => void;
  /** The sink this session uploads through: it is settled before a failure is passed on. */
  track: (sink: UploadSink) => void;
}

/**
 * Runs one session's worth of an upload (`uploadFile`, a spooled stream) on a signal of its own,
 * so that a session the server has let go of can be abandoned, every request and read of it
 * settled, before a new one starts or the caller hears of the failure. The upload's own abort
 * reaches it through `parent`, and is what it rejects with then.
 */
export async function runSession(parent: AbortSignal, run: (attempt: SessionAttempt) => Promise<SinkResult>): Promise<SinkResult> {
  const controller = new AbortController();
  // Every part, read and backoff wait of the session listens on this one signal.
  setMaxListeners(0, controller.signal);
  const follow = () => controller.abort(parent.reason);
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  const fail = (error: unknown) => {
    if (!controller.signal.aborted) controller.abort(error);
  };
  let sink: UploadSink | undefined;
  try {
    return await run({ signal: controller.signal, fail, track: (tracked) => (sink = tracked) });
  } catch (error) {
    fail(error);
    // Nothing of this session may still run when the caller hears of its failure.
    await sink?.settled();
    throw controller.signal.aborted && parent.aborted ? parent.reason : error;
  } finally {
    parent.removeEventListener('abort', follow);
  }
}
