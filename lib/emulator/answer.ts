/** What a handler decided to answer; faults may rewrite it before it is written. */
export interface Answer {
  status: number;
  /** Serialized as JSON. */
  body: unknown;
  headers?: Record<string, string>;
}

export function ok(body: unknown, headers?: Record<string, string>): Answer {
  return headers ? { status: 200, body, headers } : { status: 200, body };
}

/** Error answers always carry `{ error }` and never echo request headers (the API key among them). */
export function fail(status: number, error: string, extra?: Record<string, unknown>): Answer {
  return { status, body: { error, ...extra } };
}
