// A TCP link that cuts connections at seeded random points of the traffic coming back from its
// target, for the ranged sources' cut rows (benchmarks/ranged-sources.mjs) and their tests
// (test/upload-from-url.test.ts, test/upload-from-s3.test.ts…): plain JavaScript, no build needed.
//
// After each cut the next one comes after a uniform draw in [0.5, 1.5] × `meanBytes` more bytes
// of the whole traffic from the target (all connections together), wherever in a body that falls:
// the bytes before the cut point go out, then both sockets are destroyed, and the client sees its
// answer end mid-way. The same seed replays the same cut points.
import { connect, createServer } from 'node:net';
import { prng } from './link.mjs';

/**
 * @typedef {{ url: string, port: number, readonly cuts: number, readonly bytesDown: number, readonly connections: number, close(): Promise<void> }} CuttingLink
 *   `bytesDown`: bytes the target sent towards clients, all connections, what a cut dropped
 *   excluded (what a download cost the source); `connections`: accepted so far.
 */

/**
 * @param {number} targetPort a port on 127.0.0.1
 * @param {number} meanBytes the mean traffic between two cuts
 * @param {number} [seed]
 * @returns {Promise<CuttingLink>}
 */
export async function startCuttingLink(targetPort, meanBytes, seed = 1) {
  const random = prng(seed);
  const draw = () => Math.floor(meanBytes * (0.5 + random()));
  let bytesDown = 0;
  let cuts = 0;
  let connections = 0;
  let nextCut = draw();
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  const server = createServer((client) => {
    connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let dead = false;
    const cut = () => {
      dead = true;
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cut);
    upstream.on('error', cut);
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.end();
    });
    client.on('data', (chunk) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk) => {
      if (dead) return;
      if (bytesDown + chunk.length >= nextCut) {
        const keep = nextCut - bytesDown;
        bytesDown = nextCut;
        nextCut += draw();
        cuts++;
        // The bytes before the cut point go out, then the connection dies.
        dead = true;
        upstream.pause();
        client.write(chunk.subarray(0, keep), () => {
          client.destroy();
          upstream.destroy();
        });
        return;
      }
      bytesDown += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    get cuts() {
      return cuts;
    },
    get bytesDown() {
      return bytesDown;
    },
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
