import type { BufferPool } from './buffer-pool';
import { type FilledPart, bufferBody, rangeBody } from './part-body';
import { type PlanPart, partLength } from '../plan';
import type { PartSource } from '../sources/part-source';

/**
 * The pulled side: reads each part at its byte range when a buffer frees. A local source is read
 * one part at a time (one read ahead of the parts in flight, as the assembler fills one ahead); a
 * source with `parallelReads` (a download) up to `maxReads` parts at once, as many as the pool's
 * buffers allow, since one connection's download would not keep several uploads fed. Without a
 * pool (the parts do not fit the memory budget) every part is streamed from the source and read
 * again on a retry.
 */
export interface ReadPartsDeps {
  source: PartSource;
  /** Undefined when not even one part fits the memory budget: parts are streamed. */
  pool: BufferPool | undefined;
  signal: AbortSignal;
  submit: (filled: FilledPart) => void;
  /** The parts' PUT finalizes (the single plan): verify the source before sending. */
  finalizes: boolean;
  /** The most parts read at once, for a source with `parallelReads`. */
  maxReads: number;
  /**
   * Told of a failed read at once, so the upload stops (and the other reads with it) before
   * `readParts` itself settles, which it does only once no read of it runs.
   */
  onFailure: (error: unknown) => void;
}

export async function readParts(parts: readonly PlanPart[], deps: ReadPartsDeps): Promise<void> {
  const { source, pool, signal, submit, finalizes, maxReads, onFailure } = deps;
  const limit = source.parallelReads === true ? Math.max(1, maxReads) : 1;
  const reading = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const readOne = async (part: PlanPart, buffer: Buffer): Promise<void> => {
    const data = buffer.subarray(0, partLength(part));
    try {
      await source.read(data, part.byteRange.start);
      if (finalizes) await source.verify?.();
    } catch (error) {
      pool!.release(buffer);
      throw error;
    }
    submit({ part, body: bufferBody(data), release: () => pool!.release(buffer) });
  };
  for (const part of parts) {
    if (failure !== undefined) break;
    if (signal.aborted) {
      failure = { error: signal.reason };
      break;
    }
    if (pool === undefined) {
      submit({ part, body: rangeBody(source, part.byteRange.start, partLength(part), finalizes), release: () => undefined });
      continue;
    }
    // Each round waits for a read to end (bounded by the parts' count).
    while (reading.size >= limit && failure === undefined) await Promise.race(reading);
    if (failure !== undefined) break;
    let buffer: Buffer;
    try {
      buffer = await pool.acquire(signal);
    } catch (error) {
      failure = { error };
      break;
    }
    const read = readOne(part, buffer).then(
      () => undefined,
      (error: unknown) => {
        if (failure !== undefined) return;
        failure = { error };
        onFailure(error);
      },
    );
    reading.add(read);
    void read.finally(() => reading.delete(read));
  }
  // No read outlives the reader: a failed upload's buffers are all back when it settles.
  await Promise.all(reading);
  if (failure !== undefined) throw failure.error;
}
