import { type Server, type Socket, connect, createServer } from 'node:net';
import { mulberry32 } from '../../lib/emulator/prng';

export interface CuttingLink {
  /** `http://127.0.0.1:<port>`: the target, through the link. */
  url: string;
  port: number;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Bytes the target sent towards clients (all connections; what a cut dropped excluded). */
  readonly bytesDown: number;
  close(): Promise<void>;
}

/**
 * A TCP link to `target` that cuts connections at seeded random points of the traffic coming
 * back from it: after each cut, the next comes after a uniform draw in [0.5, 1.5] × `meanBytes`
 * more bytes, wherever in a body that falls. The client sees its answer end mid-way (both
 * sockets are destroyed). Replayable from its seed; the points are points of the whole traffic.
 */
export async function startCuttingLink(targetPort: number, meanBytes: number, seed = 1): Promise<CuttingLink> {
  const random = mulberry32(seed);
  const draw = (): number => Math.floor(meanBytes * (0.5 + random()));
  let bytesDown = 0;
  let cuts = 0;
  let nextCut = draw();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let dead = false;
    const cut = (): void => {
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
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get cuts() {
      return cuts;
    },
    get bytesDown() {
      return bytesDown;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
