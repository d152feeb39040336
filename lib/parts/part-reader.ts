import type { BufferPool } from './buffer-pool';
import { type FilledPart, bufferBody, rangeBody } from './part-body';
import { type PlanPart, partLength } from '../plan';
import type { PartSource } from '../sources/part-source';

/**
 * The pulled side: reads each part at its byte range when a buffer frees (one read ahead of
 * the parts in flight, as the assembler fills one ahead). Without a pool (the parts do not fit
 * the memory budget) every part is streamed from the source and read again on a retry.
 */
export async function readParts(
  parts: readonly PlanPart[],
  source: PartSource,
  pool: BufferPool | undefined,
  signal: AbortSignal,
  submit: (filled: FilledPart) => void,
  /** The parts' PUT finalizes (the single plan): verify the source before sending. */
  finalizes = false,
): Promise<void> {
  for (const part of parts) {
    if (signal.aborted) throw signal.reason;
    const length = partLength(part);
    if (pool === undefined) {
      submit({ part, body: rangeBody(source, part.byteRange.start, length, finalizes), release: () => undefined });
      continue;
    }
    const buffer = await pool.acquire(signal);
    const data = buffer.subarray(0, length);
    try {
      await source.read(data, part.byteRange.start);
      if (finalizes) await source.verify?.();
    } catch (error) {
      pool.release(buffer);
      throw error;
    }
    submit({ part, body: bufferBody(data), release: () => pool.release(buffer) });
  }
}
