// The link emulator of the benchmarks (benchmarks/lib/link.mjs): delay, shaping, cuts and
// counting roughly hold. Rates are measured where the bytes land (the target server), since
// what the sender sees is blurred by loopback's kernel buffers.
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Link, type LinkOptions, linkBound, PROFILES, startLink } from '../benchmarks/lib/link.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Echoes small messages; for bodies, records when the first and the last byte arrived. */
interface Arrival {
  bytes: number;
  first: number;
  last: number;
}
let server: Server;
let serverPort: number;
const arrivals: Arrival[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    const arrival: Arrival = { bytes: 0, first: 0, last: 0 };
    arrivals.push(arrival);
    socket.on('data', (chunk) => {
      const t = performance.now();
      if (arrival.bytes === 0) arrival.first = t;
      arrival.bytes += chunk.length;
      arrival.last = t;
      if (chunk.length <= 16) socket.write(chunk); // a ping: answer it
    });
    socket.on('error', () => {});
  });
  serverPort = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const links: Link[] = [];
afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.close()));
  arrivals.length = 0;
});

async function link(options: Omit<LinkOptions, 'target'>): Promise<Link> {
  const l = await startLink({ target: { port: serverPort }, ...options });
  links.push(l);
  return l;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends one byte and resolves with the milliseconds until the echo came back. */
function ping(socket: Socket): Promise<number> {
  const t = performance.now();
  return new Promise((resolve) => {
    socket.once('data', () => resolve(performance.now() - t));
    socket.write('x');
  });
}

/** Writes `bytes` and resolves once the target received all of them; returns that arrival. */
async function send(socket: Socket, bytes: number, arrival: () => Arrival | undefined): Promise<Arrival> {
  socket.write(Buffer.alloc(bytes, 1));
  for (let i = 0; i < 400; i++) {
    const a = arrival();
    if (a !== undefined && a.bytes >= bytes) return a;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the bytes never arrived');
}

/** MiB/s at the target, first to last byte (the first chunk is free: it starts the clock). */
const rate = (a: Arrival, firstChunk = 64 * KiB) => (a.bytes - firstChunk) / MiB / ((a.last - a.first) / 1000);

describe('link emulator', () => {
  it('delays each round trip by the RTT, and a new connection by one more (the TCP handshake)', async () => {
    const l = await link({ rttMs: 80 });
    // Counted from the dial, not from the client's 'connect' callback: the handshake's round trip
    // runs from the link's accept, and on a busy machine (CI on Node 24 once: 16 ms) the callback
    // may follow it late, so the first ping alone would look short.
    const dialed = performance.now();
    const socket = await open(l.port);
    await ping(socket);
    const handshakeAndPing = performance.now() - dialed;
    const second = await ping(socket);
    socket.destroy();
    // Timers count from the event loop's cached clock, which can trail the real time by a few ms
    // on a busy machine: a delay may look that much short when measured with a precise clock.
    expect(handshakeAndPing).toBeGreaterThanOrEqual(2 * 80 - 6);
    expect(handshakeAndPing).toBeLessThan(2 * 80 + 60);
    expect(second).toBeGreaterThanOrEqual(80 - 6);
    expect(second).toBeLessThan(80 + 60);
    // (The handshake's own round trip is proven by the bound on handshakeAndPing: without it, one
    // round trip. Comparing with `second` added nothing but the second's own lateness under load.)
  });

  it('holds one connection to its own rate', async () => {
    const l = await link({ perConnectionBytesPerS: 8 * MiB });
    const socket = await open(l.port);
    const a = await send(socket, 3 * MiB, () => arrivals[0]);
    socket.destroy();
    const r = rate(a);
    expect(r).toBeGreaterThan(8 * 0.8);
    // Above 8 by the bucket's 10 ms burst, and by any stall between the link's read and the
    // target's timestamp (the link forgives its own lateness and catches up): an unshaped
    // connection would be many times faster.
    expect(r).toBeLessThan(8 * 1.3);
  });

  it('holds all connections together to the aggregate rate', async () => {
    const l = await link({ aggregateBytesPerS: 8 * MiB, perConnectionBytesPerS: 8 * MiB });
    const sockets = await Promise.all([open(l.port), open(l.port)]);
    await Promise.all(sockets.map((s, i) => send(s, 1.5 * MiB, () => arrivals[i])));
    for (const s of sockets) s.destroy();
    const first = Math.min(...arrivals.map((a) => a.first));
    const last = Math.max(...arrivals.map((a) => a.last));
    const r = (3 * MiB - 128 * KiB) / MiB / ((last - first) / 1000);
    expect(r).toBeGreaterThan(8 * 0.8);
    expect(r).toBeLessThan(8 * 1.3); // two connections at 8 each would make 16
  });

  it('cuts connections mid-transfer with a reset, at about the asked rate, and counts them', async () => {
    const l = await link({ cutEveryBytes: 256 * KiB, seed: 7 });
    let resets = 0;
    let sent = 0;
    for (let i = 0; i < 20 && sent < 4 * MiB; i++) {
      const socket = await open(l.port);
      const closed = new Promise<void>((resolve) => {
        socket.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resets++;
        });
        socket.on('close', () => resolve());
      });
      // Far more than the mean distance between cuts: this connection will be cut.
      socket.write(Buffer.alloc(2 * MiB));
      sent += 2 * MiB;
      const timeout = setTimeout(() => socket.destroy(), 3_000); // an uncut connection must not hang the test
      await closed;
      clearTimeout(timeout);
    }
    const { cuts, connections } = l.stats();
    expect(cuts).toBe(connections); // every connection was cut before its 2 MiB went through
    expect(resets).toBe(cuts);
    // 4 MiB offered with a cut every 256 KiB on average, each cut ending its connection.
    expect(l.stats().bytesUp).toBeLessThan(sent);
  });

  it('replays the same cut schedule from the same seed', async () => {
    // Connections one after another, each sending 64 KiB and closing: which of them are cut
    // depends only on the schedule (bytes between cuts), not on how the bytes were chunked.
    const pattern = async (l: Link): Promise<string> => {
      let out = '';
      for (let i = 0; i < 12; i++) {
        const socket = await open(l.port);
        let reset = false;
        const closed = new Promise<void>((resolve) => {
          socket.on('error', () => (reset = true));
          socket.on('close', () => resolve());
        });
        socket.resume();
        for (let k = 0; k < 16; k++) socket.write(Buffer.alloc(4 * KiB));
        socket.end();
        const timeout = setTimeout(() => socket.destroy(), 3_000);
        await closed;
        clearTimeout(timeout);
        out += reset ? 'x' : '.';
      }
      return out;
    };
    const a = await link({ cutEveryBytes: 128 * KiB, seed: 3 });
    const b = await link({ cutEveryBytes: 128 * KiB, seed: 3 });
    const c = await link({ cutEveryBytes: 128 * KiB, seed: 4 });
    const first = await pattern(a);
    expect(first).toMatch(/x.*\./); // some cut, some not
    expect(await pattern(b)).toBe(first);
    expect(await pattern(c)).not.toBe(first);
    a.reseed(3);
    expect(await pattern(a)).toBe(first);
  });

  it('counts connections, open and at most at once, and closes by itself after its lifetime', async () => {
    const l = await link({ rttMs: 2, lifetimeMs: 400 });
    const sockets = await Promise.all([open(l.port), open(l.port), open(l.port)]);
    await Promise.all(sockets.map((s) => ping(s)));
    expect(l.stats()).toMatchObject({ connections: 3, open: 3, peakOpen: 3 });
    sockets[0]!.end();
    await new Promise((r) => setTimeout(r, 100));
    expect(l.stats()).toMatchObject({ connections: 3, open: 2, peakOpen: 3 });
    await new Promise((r) => setTimeout(r, 400));
    // Its lifetime is over: the open connections were ended, and nothing connects any more.
    expect(l.stats().open).toBe(0);
    await expect(open(l.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    for (const s of sockets) s.destroy();
  });

  it('names the bound of a profile: min(aggregate, concurrency × per connection)', () => {
    expect(linkBound(PROFILES.far, 1)).toBe(4 * MiB);
    expect(linkBound(PROFILES.far, 8)).toBe(24 * MiB);
    expect(linkBound(PROFILES.cloud, 4)).toBe(64 * MiB);
    expect(linkBound(PROFILES.lan, 8)).toBe(Number.POSITIVE_INFINITY);
  });
});
