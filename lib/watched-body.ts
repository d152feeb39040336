import type { RequestBody } from './http';

/** One attempt's body, watched: what it raised, and how much of it the client has taken. */
export interface WatchedBody {
  body: RequestBody;
  /** Bytes handed to the connection so far (a string or buffer is handed over whole at once). */
  readonly taken: number;
  /** Whether the whole body has been handed to the connection. */
  readonly whole: boolean;
}

/**
 * Wraps `body` to report any error its iterator throws and to count what the client took: undici
 * writes each chunk to the socket as it takes it, so a chunk counts once it is yielded. A body
 * whose length is declared is whole once that many bytes were taken (the socket may still be
 * draining them, which is what "handed to the connection" means); one without, once it ended.
 */
export function watchBody(body: RequestBody, declared: number | undefined, onError: (error: unknown) => void): WatchedBody {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    return { body, taken: length, whole: true };
  }
  const inner = body;
  let taken = 0;
  let ended = false;
  const counted = (async function* () {
    try {
      for await (const chunk of inner) {
        taken += chunk.length;
        yield chunk;
      }
      ended = true;
    } catch (error) {
      onError(error);
      throw error;
    }
  })();
  return {
    body: counted,
    get taken() {
      return taken;
    },
    get whole() {
      return declared === undefined ? ended : taken >= declared;
    },
  };
}

/** The Content-Length a request declares, if a usable one. */
export function declaredLength(headers: Record<string, string>): number | undefined {
  const value = headers['content-length'];
  const length = value === undefined ? Number.NaN : Number(value);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

