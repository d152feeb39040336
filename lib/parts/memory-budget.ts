import { MemoryLimitError } from '../errors';
import { type MultipartPlan, partLength } from '../plan';

/** How many part buffers an upload may hold, and how many parts it keeps in flight. */
export interface PartBuffers {
  bufferSize: number;
  buffers: number;
  inFlight: number;
}

/**
 * Part buffers under `maxBufferMemory`, whatever plan the server hands out: concurrency + 1
 * buffers (one filling while the others are sent) when they fit, fewer parts in flight when
 * parts are large. Undefined when not even one part fits.
 */
function fit(plan: MultipartPlan, concurrency: number, maxBufferMemory: number): PartBuffers | undefined {
  // Every part but the last is partSize long, so one size fits all; a one-part plan needs only its own length.
  const bufferSize = plan.parts.length === 1 ? partLength(plan.parts[0]!) : plan.partSize;
  const affordable = Math.floor(maxBufferMemory / bufferSize);
  if (affordable < 1) return undefined;
  const buffers = Math.min(concurrency + 1, plan.parts.length, affordable);
  return { bufferSize, buffers, inFlight: Math.min(concurrency, buffers) };
}

/** A live stream's parts must be held until acknowledged: a part that cannot fit is an error. */
export function pushedPartBuffers(plan: MultipartPlan, concurrency: number, maxBufferMemory: number): PartBuffers {
  const buffers = fit(plan, concurrency, maxBufferMemory);
  if (buffers === undefined) {
    throw new MemoryLimitError(maxBufferMemory, plan.parts.length === 1 ? partLength(plan.parts[0]!) : plan.partSize);
  }
  return buffers;
}

/**
 * A seekable source's parts are read into buffers when they fit; otherwise (undefined) each
 * part is streamed from the source slice by slice, and read again for a retry.
 */
export function pulledPartBuffers(plan: MultipartPlan, concurrency: number, maxBufferMemory: number): PartBuffers | undefined {
  return fit(plan, concurrency, maxBufferMemory);
}
