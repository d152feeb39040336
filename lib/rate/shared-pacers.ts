import { RatePacer } from './rate-pacer';

/** One pacer per API origin and connection id: OFAuth's limit is per connection, whoever sends. */
const pacers = new Map<string, RatePacer>();

/**
 * The pacer every upload in this process to `baseUrl` as `connectionId` shares (concurrent
 * streams, `uploadFile` calls, batch jobs), unless it is given its own. Keyed by the origin, so
 * `https://api.ofauth.com` and `https://api.ofauth.com/` are one.
 */
export function sharedPacer(baseUrl: string, connectionId: string): RatePacer {
  const key = `${new URL(baseUrl).origin}\n${connectionId}`;
  let pacer = pacers.get(key);
  if (pacer === undefined) {
    pacer = new RatePacer();
    pacers.set(key, pacer);
  }
  return pacer;
}
