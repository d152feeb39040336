import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';

export interface DownloadServer {
  url: string;
  /** Every request's method, path (with query) and headers, in arrival order. */
  requests: { method: string; path: string; headers: IncomingHttpHeaders; rawHeaders: string[] }[];
  close(): Promise<void>;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** A small HTTP server on 127.0.0.1 standing in for a CDN: each path answers as its route says. */
export async function startDownloadServer(routes: Record<string, Route>): Promise<DownloadServer> {
  const requests: DownloadServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes[path];
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      return;
    }
    route(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends `body` with a Content-Length (and these headers). */
export function withLength(body: Buffer, headers: Record<string, string> = {}): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length), ...headers });
    res.end(body);
  };
}

/** Sends `body` chunked (no Content-Length), in pieces, so its size is only known at the end. */
export function chunked(body: Buffer, headers: Record<string, string> = {}, piece = 64 * 1024): Route {
  return (_req, res) => {
    res.writeHead(200, headers);
    for (let offset = 0; offset < body.length; offset += piece) res.write(body.subarray(offset, offset + piece));
    res.end();
  };
}

export function redirect(to: string, status = 302): Route {
  return (_req, res) => {
    res.writeHead(status, { location: to }).end();
  };
}
