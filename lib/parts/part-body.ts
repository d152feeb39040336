import type { PlanPart } from '../plan';
import { BODY_SLICE_BYTES } from '../progress';
import type { PartSource } from '../sources/part-source';

/**
 * A request body that can be produced again for every attempt: from a held buffer, or by
 * reading its byte range from a seekable source once more.
 */
export interface PartBody {
  readonly length: number;
  /** One attempt's body; `onSent(n)` runs once its first `n` bytes were taken by the socket. */
  slices(onSent: (bytes: number) => void): Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** A part ready to send, from whichever side (pushed or pulled) produced it. */
export interface FilledPart {
  part: PlanPart;
  body: PartBody;
  /** Gives its buffer back once the server acknowledged the part (a no-op for a streamed part). */
  release: () => void;
}

/**
 * The last bytes of a body go out as a slice this small. Written into a drained socket, it
 * stays under the socket's 16 KiB high-water mark, so undici takes it without waiting for
 * 'drain' and ends the request in the same turn. With a large last slice it waits for
 * 'drain', and when the server's answer is read in the same poll phase before that drain (a
 * fast link, a busy process), undici finds a response to a request it is still writing and
 * destroys the connection: the next request then pays for a new one (and its TLS handshake).
 */
const TAIL_BYTES = 4 * 1024;

/** `slice`, the piece of a body ending at `end` of `length`, with a last piece split off its tail. */
function* withTail(slice: Uint8Array, end: number, length: number): Generator<Uint8Array> {
  if (end === length && slice.length > TAIL_BYTES) {
    yield slice.subarray(0, slice.length - TAIL_BYTES);
    yield slice.subarray(slice.length - TAIL_BYTES);
  } else {
    yield slice;
  }
}

/** A body sent from memory the library owns (a pooled part buffer), in slices. */
export function bufferBody(data: Uint8Array): PartBody {
  return {
    length: data.length,
    *slices(onSent) {
      for (let offset = 0; offset < data.length; offset += BODY_SLICE_BYTES) {
        const end = Math.min(offset + BODY_SLICE_BYTES, data.length);
        yield* withTail(data.subarray(offset, end), end, data.length);
        onSent(end);
      }
    },
  };
}

/**
 * A body read slice by slice from `source` at [start, start + length): nothing is held between
 * attempts, so a part larger than the memory budget (or a whole plan-less file) can be retried.
 * Each slice is a fresh buffer: the socket may still hold the previous one when it asks for more.
 * `finalizes`: the server finalizes once it has the last byte, so the source is verified first.
 * A source that can stream a range (a download) gives each attempt's body as one read of it.
 */
export function rangeBody(source: PartSource, start: number, length: number, finalizes = false): PartBody {
  if (source.stream !== undefined) return streamedBody(source, source.stream.bind(source), start, length, finalizes);
  return {
    length,
    async *slices(onSent) {
      for (let offset = 0; offset < length; offset += BODY_SLICE_BYTES) {
        const slice = Buffer.allocUnsafeSlow(Math.min(BODY_SLICE_BYTES, length - offset));
        await source.read(slice, start + offset);
        // A body whose end finalizes the upload: a changed source must stop it before that.
        if (finalizes && offset + slice.length === length) await source.verify?.();
        yield* withTail(slice, offset + slice.length, length);
        onSent(offset + slice.length);
      }
    },
  };
}

function streamedBody(
  source: PartSource,
  stream: (position: number, length: number) => AsyncIterable<Uint8Array>,
  start: number,
  length: number,
  finalizes: boolean,
): PartBody {
  return {
    length,
    async *slices(onSent) {
      let offset = 0;
      for await (const chunk of stream(start, length)) {
        const end = offset + chunk.length;
        if (finalizes && end === length) await source.verify?.();
        yield* withTail(chunk, end, length);
        offset = end;
        onSent(end);
      }
    },
  };
}
