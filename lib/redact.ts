// Everything that leaves this package in a message goes through here: the API key must never
// appear in an error, a log or an event, and a presigned URL's query string is a credential too.

/** What stands in for a secret everywhere: errors, logs, the emulator's request log. */
export const REDACTED = '[REDACTED]';

/** The path of a URL without its query string: what errors report as `path`. */
export function safePath(url: string | URL): string {
  try {
    return (typeof url === 'string' ? new URL(url) : url).pathname;
  } catch {
    return '[invalid URL]';
  }
}

/** Replaces every occurrence of each secret (and its URI-encoded form) in `text`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    out = out.split(secret).join(REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join(REDACTED);
  }
  return out;
}

/** A short, single-line, secret-free excerpt of a response body for error messages. */
export function bodyExcerpt(body: string, secrets: readonly string[], max = 300): string {
  // Redact before cutting, so a secret split by the cut cannot leak its first half.
  const flat = redactSecrets(body, secrets).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
