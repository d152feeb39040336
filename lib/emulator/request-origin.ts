// The origin a client reached the emulator on, read from its Host header, the way a server
// behind a proxy or a port mapping builds its links: a client on `localhost:8787`, on
// `127.0.0.1:8787`, or on a LAN or Docker name gets a plan it can follow on that same origin.

/** `name`, `1.2.3.4` or `[v6]`, then an optional `:port`; no userinfo, path or spaces. */
const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::[0-9]{1,5})?$/i;

/**
 * The Host header as a URL on the emulator's scheme (plain http), or undefined when it is
 * missing, repeated or not a `host[:port]`: a request a real server answers with 400.
 */
export function parseHost(header: string | string[] | undefined): URL | undefined {
  if (typeof header !== 'string' || !HOST.test(header)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${header}`);
  } catch {
    return undefined;
  }
  // Port 0 cannot be connected to; `new URL` validated the rest (IPv6 literals, ports <= 65535).
  return url.port === '0' ? undefined : url;
}

/** The API origin, for plan URLs: where this very request arrived. */
export function apiOriginFor(host: URL): string {
  return host.origin;
}

/** The part server's origin as seen by the same client: its host name, the part server's port. */
export function foreignOriginFor(host: URL, foreignUrl: string): string {
  return `http://${host.hostname}:${new URL(foreignUrl).port}`;
}
